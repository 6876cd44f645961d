-- 0012_typed_trial_settings.sql: trials.settings as typed, versioned JSON of the run's
-- settings instead of `mnistlab train` arguments, so that renaming or removing a flag can no
-- longer break the trials a store keeps; the argument lists stored so far are converted.
-- 2026-12-06

-- The format, version 1 (Sources/Sweeps/TrialSettings.swift reads and writes it):
--   {"version": 1, "name": "sweep-1/lr=0.1", "keep_every": 50,
--    "hyperparameters": {"hidden": [100], "activation": "sigmoid", "loss": "cross-entropy",
--        "learning_rate": 0.1, "batch_size": 200, "momentum": 0, "epochs": 20, "seed": 1,
--        "weight_decay": 0, "lr_schedule": "constant", "min_learning_rate": 0,
--        "patience": null, "min_delta": 0},
--    "data": {"directory": "/abs/Data/mnist", "validation_size": 10000, "train_limit": null}}
-- Numbers are copied as the arguments wrote them (json() keeps a number's text), so each
-- reads back as the same double. An option the arguments left out had `train`'s default,
-- written here: keep_every 50, no weight decay, a constant rate, no early stopping.

-- Each stored argument list as (option, value) pairs: options at even positions, each
-- followed by its value (every option `sweep` wrote takes one). Dropped below.
CREATE TABLE trial_arguments AS
    SELECT t.id AS trial_id, o.value AS option, v.value AS value
    FROM trials AS t, json_each(t.settings) AS o, json_each(t.settings) AS v
    WHERE json_type(t.settings) = 'array' AND o.key % 2 = 0 AND v.key = o.key + 1;

UPDATE trials SET settings = json_object(
    'version', 1,
    'name', (SELECT value FROM trial_arguments WHERE trial_id = trials.id AND option = '--name'),
    'keep_every', json(coalesce((SELECT value FROM trial_arguments
        WHERE trial_id = trials.id AND option = '--keep-every'), '50')),
    'hyperparameters', json_object(
        'hidden', json('[' || (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--hidden') || ']'),
        'activation', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--activation'),
        'loss', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--loss'),
        'learning_rate', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--learning-rate')),
        'batch_size', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--batch-size')),
        'momentum', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--momentum')),
        'epochs', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--epochs')),
        'seed', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--seed')),
        'weight_decay', json(coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--weight-decay'), '0')),
        'lr_schedule', coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--lr-schedule'), 'constant'),
        'min_learning_rate', json(coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--min-learning-rate'), '0')),
        -- `--patience 0` was no early stopping, as null is.
        'patience', json(nullif((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--patience'), '0')),
        'min_delta', json(coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--min-delta'), '0'))),
    'data', json_object(
        'directory', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--data'),
        'validation_size', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--val-size')),
        'train_limit', json((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--train-limit'))))
WHERE json_type(settings) = 'array';

DROP TABLE trial_arguments;
