"""Optuna's SuccessiveHalvingPruner replayed on an exhaustive sweep's recorded epochs (issue 25).

An exhaustive sweep (every trial trained to --epochs) has recorded each trial's validation
loss at every epoch. This script hands those losses to an Optuna study whose pruner is
`SuccessiveHalvingPruner(min_resource=R, reduction_factor=η)`, as an objective would report
them (`trial.report(val_loss, epoch)` after each epoch, then `trial.should_prune()`), and says
which trials Optuna would have stopped, at which epoch, how many epochs it would have spent,
and the best validation loss it would have found. Two orders:

- trial order: one worker, trials 1, 2, … one after the other;
- 2 workers: two workers each take the next trial when theirs ends or is pruned, and each
  epoch's report happens when it would have, from the epoch times the sweep recorded (so a
  pruned trial frees its worker early, as it would have).

With `--asha DB` it prints, beside it, what ASHA did in that store's sweep over the same
trials (each trial's last rung, its epochs, pruned or completed). Needs optuna (pip install
optuna); the stores are SQLite files read with Python's sqlite3, read-only.

  python3 Benchmarks/sha_replay.py exhaustive.sqlite [--asha asha.sqlite] [--sweep 1] \
      [--min-resource 3] [--reduction-factor 3] [--json]
"""
import argparse
import heapq
import json
import math
import os
import sqlite3
import sys

import optuna


def read_only(path):
    if not os.path.isfile(path):
        raise SystemExit(f"sha_replay.py: no SQLite store at {path}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def recorded_epochs(path, sweep):
    """trial number → [(epoch, val_loss, seconds)] in epoch order."""
    rows = read_only(path).execute(
        "SELECT t.number, e.epoch, e.val_loss, e.seconds FROM trials AS t "
        "JOIN epochs AS e ON e.run_id = t.run_id WHERE t.sweep_id = ? ORDER BY t.number, e.epoch",
        (sweep,),
    )
    trials = {}
    for number, epoch, val_loss, seconds in rows:
        trials.setdefault(number, []).append((epoch, val_loss, seconds))
    return trials


def replay(trials, min_resource, reduction_factor, workers):
    """Replays `trials` through an Optuna study with `workers` simulated workers; returns each
    trial's fate: (epochs trained, pruned?, best val loss seen, value if completed)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=min_resource, reduction_factor=reduction_factor
        ),
    )
    queue = sorted(trials)
    events = []  # (time, order, trial number, index of its next epoch)
    handles, fates = {}, {}
    order = 0

    def start(number, now):
        nonlocal order
        handles[number] = study.ask()
        epoch, _, seconds = trials[number][0]
        heapq.heappush(events, (now + seconds, order, number, 0))
        order += 1

    for _ in range(workers):
        if queue:
            start(queue.pop(0), 0.0)
    while events:
        now, _, number, k = heapq.heappop(events)
        epochs = trials[number]
        epoch, val_loss, _ = epochs[k]
        trial = handles[number]
        trial.report(val_loss, epoch)
        best = min(v for _, v, _ in epochs[: k + 1])
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            fates[number] = (k + 1, True, best, None)
        elif k + 1 == len(epochs):
            study.tell(trial, best)
            fates[number] = (k + 1, False, best, best)
        else:
            heapq.heappush(events, (now + epochs[k + 1][2], order, number, k + 1))
            order += 1
            continue
        if queue:
            start(queue.pop(0), now)
    return fates


def asha_fates(path, sweep):
    """trial number → (status, last rung, epochs trained, best val loss) in an ASHA sweep."""
    rows = read_only(path).execute(
        "SELECT t.number, t.status, t.rung, s.epochs_done, s.best_val_loss FROM trials AS t "
        "JOIN run_summary AS s ON s.id = t.run_id WHERE t.sweep_id = ? ORDER BY t.number",
        (sweep,),
    )
    return {number: (status, rung, epochs, best) for number, status, rung, epochs, best in rows}


def summary(fates):
    completed = [v for _, pruned, _, v in fates.values() if not pruned]
    return {
        "epochs": sum(e for e, _, _, _ in fates.values()),
        "pruned": sorted(n for n, (_, pruned, _, _) in fates.items() if pruned),
        "completed": sorted(n for n, (_, pruned, _, _) in fates.items() if not pruned),
        "best_completed": min(completed) if completed else None,
        "best_seen": min(b for _, _, b, _ in fates.values()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exhaustive", help="SQLite store of the exhaustive sweep")
    parser.add_argument("--asha", help="SQLite store of the ASHA sweep over the same trials")
    parser.add_argument("--sweep", type=int, default=1)
    parser.add_argument("--min-resource", type=int, default=3)
    parser.add_argument("--reduction-factor", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    trials = recorded_epochs(args.exhaustive, args.sweep)
    if not trials:
        raise SystemExit(f"sha_replay.py: sweep {args.sweep} of {args.exhaustive} has no recorded epochs")
    full = {n: (len(e), False, min(v for _, v, _ in e), min(v for _, v, _ in e)) for n, e in trials.items()}
    per_trial = {
        "optuna_sha_trial_order": replay(trials, args.min_resource, args.reduction_factor, 1),
        "optuna_sha_2_workers": replay(trials, args.min_resource, args.reduction_factor, 2),
    }
    results = {"exhaustive": summary(full)} | {key: summary(f) for key, f in per_trial.items()}
    asha = asha_fates(args.asha, args.sweep) if args.asha else None
    if asha:
        results["asha"] = {
            "epochs": sum(e for _, _, e, _ in asha.values()),
            "pruned": sorted(n for n, (s, _, _, _) in asha.items() if s == "pruned"),
            "completed": sorted(n for n, (s, _, _, _) in asha.items() if s == "completed"),
            "best_completed": min(
                (b for s, _, _, b in asha.values() if s == "completed" and b is not None), default=None
            ),
            "best_seen": min((b for _, _, _, b in asha.values() if b is not None), default=None),
        }
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
        return

    print(f"optuna {optuna.__version__}, SuccessiveHalvingPruner(min_resource={args.min_resource}, "
          f"reduction_factor={args.reduction_factor}) on {len(trials)} trials of {args.exhaustive}\n")
    print("| trial | exhaustive best val loss | Optuna SHA, trial order: epochs | Optuna SHA, 2 workers: epochs |"
          + (" ASHA: state, rung, epochs |" if asha else ""))
    print("| --- | --- | --- | --- |" + (" --- |" if asha else ""))
    for n in sorted(trials):
        cells = [str(n), f"{full[n][2]:.4f}"]
        for key in ("optuna_sha_trial_order", "optuna_sha_2_workers"):
            epochs, pruned, _, _ = per_trial[key][n]
            cells.append(f"{epochs}{' pruned' if pruned else ''}")
        if asha:
            status, rung, epochs, _ = asha.get(n, ("-", "-", 0, None))
            cells.append(f"{status}, {rung}, {epochs}")
        print("| " + " | ".join(cells) + " |")
    print()
    print("| | epochs trained | trials pruned | best val loss of completed trials | best val loss seen |")
    print("| --- | --- | --- | --- | --- |")
    for key, r in results.items():
        fmt = lambda v: "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"
        print(f"| {key} | {r['epochs']} | {len(r['pruned'])} | {fmt(r['best_completed'])} | {fmt(r['best_seen'])} |")


if __name__ == "__main__":
    main()
