-- 0012_typed_trial_settings.pg.sql: 0012_typed_trial_settings.sql for PostgreSQL —
-- trials.settings as typed, versioned JSON of the run's settings instead of `mnistlab train`
-- arguments, so that renaming or removing a flag can no longer break the trials a store
-- keeps; the argument lists stored so far are converted.
-- 2026-12-06

-- Where this departs from 0012_typed_trial_settings.sql, and why:
--   * jsonb in place of SQLite's JSON functions: jsonb_array_elements_text WITH ORDINALITY
--     numbers the arguments from 1 (json_each's keys count from 0), so options sit at odd
--     positions; a value is made a JSON number with ::jsonb, whose numeric keeps its decimal
--     value exactly, so it reads back as the same double; jsonb_build_object(…)::text writes
--     the object (keys in jsonb's order, which the reader does not depend on).
--   * The format and the defaults written are those of 0012_typed_trial_settings.sql.

-- Each stored argument list as (option, value) pairs. Dropped below.
CREATE TABLE trial_arguments AS
    SELECT t.id AS trial_id, o.value AS option, v.value AS value
    FROM trials AS t,
        jsonb_array_elements_text(t.settings::jsonb) WITH ORDINALITY AS o(value, k),
        jsonb_array_elements_text(t.settings::jsonb) WITH ORDINALITY AS v(value, k)
    WHERE o.k % 2 = 1 AND v.k = o.k + 1;

UPDATE trials SET settings = jsonb_build_object(
    'version', 1,
    'name', (SELECT value FROM trial_arguments WHERE trial_id = trials.id AND option = '--name'),
    'keep_every', coalesce((SELECT value FROM trial_arguments
        WHERE trial_id = trials.id AND option = '--keep-every'), '50')::jsonb,
    'hyperparameters', jsonb_build_object(
        'hidden', ('[' || (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--hidden') || ']')::jsonb,
        'activation', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--activation'),
        'loss', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--loss'),
        'learning_rate', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--learning-rate')::jsonb,
        'batch_size', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--batch-size')::jsonb,
        'momentum', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--momentum')::jsonb,
        'epochs', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--epochs')::jsonb,
        'seed', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--seed')::jsonb,
        'weight_decay', coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--weight-decay'), '0')::jsonb,
        'lr_schedule', coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--lr-schedule'), 'constant'),
        'min_learning_rate', coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--min-learning-rate'), '0')::jsonb,
        -- `--patience 0` was no early stopping, as null is.
        'patience', nullif((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--patience'), '0')::jsonb,
        'min_delta', coalesce((SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--min-delta'), '0')::jsonb),
    'data', jsonb_build_object(
        'directory', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--data'),
        'validation_size', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--val-size')::jsonb,
        'train_limit', (SELECT value FROM trial_arguments
            WHERE trial_id = trials.id AND option = '--train-limit')::jsonb))::text
WHERE id IN (SELECT trial_id FROM trial_arguments);

DROP TABLE trial_arguments;
