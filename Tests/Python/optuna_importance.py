"""Optuna's hyperparameter importance for a sweep's trials, to compare with `sweeps ID --json`.

Run by CLITests' OptunaImportanceTests in the virtual environment that .ci/run makes (optuna,
scikit-learn, numpy). Reads one JSON object from the file given as its argument:

  {"distributions": {"learning_rate": {"type": "float", "low": 0.01, "high": 2, "log": true},
                     "hidden": {"type": "int", "low": 8, "high": 64, "log": false}, ...},
   "trials": [{"params": {"learning_rate": 0.1, "hidden": 17, ...}, "value": 0.53}, ...],
   "seed": 0}

builds a study from the trials with `optuna.trial.create_trial` (each one COMPLETE, its value
the best validation loss) and prints one JSON object: Optuna's version and
`optuna.importance.get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=...))`
(fANOVA, Optuna's default method, with the forest's seed pinned), most important first.
"""
import json
import sys

import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator


def distribution(spec):
    kind = spec["type"]
    if kind == "float":
        return FloatDistribution(spec["low"], spec["high"], log=spec.get("log", False))
    if kind == "int":
        return IntDistribution(int(spec["low"]), int(spec["high"]), log=spec.get("log", False))
    raise SystemExit(f"unknown distribution type {kind!r}")


def main():
    with open(sys.argv[1]) as f:
        given = json.load(f)
    distributions = {name: distribution(spec) for name, spec in given["distributions"].items()}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    for trial in given["trials"]:
        params = {
            name: int(trial["params"][name]) if isinstance(d, IntDistribution) else float(trial["params"][name])
            for name, d in distributions.items()
        }
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, value=trial["value"])
        )
    importances = optuna.importance.get_param_importances(
        study, evaluator=FanovaImportanceEvaluator(seed=given.get("seed", 0))
    )
    ranked = [{"setting": name, "share": float(share)} for name, share in importances.items()]
    json.dump({"optuna": optuna.__version__, "trials": len(study.trials), "importance": ranked}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
