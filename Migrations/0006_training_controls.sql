-- 0006_training_controls.sql: early stopping, learning-rate schedules and weight decay as
-- settings of a run (runs), the learning rate in effect per epoch (epochs), and run_summary
-- recreated to carry them and to say whether, and at which epoch, a run stopped early.
-- 2026-11-28

-- Settings of a run, like learning_rate: a run's rates, decay and stopping follow from its
-- row and its recorded epochs alone. Rows written before this migration get the values that
-- describe what they did: constant rate, no decay, no early stopping.
ALTER TABLE runs ADD COLUMN patience INTEGER
    CHECK (patience IS NULL OR patience >= 1);  -- epochs without improvement before stopping;
                                                -- NULL: no early stopping
ALTER TABLE runs ADD COLUMN min_delta REAL NOT NULL DEFAULT 0
    CHECK (min_delta >= 0);                     -- val_loss decrease that counts as improvement
ALTER TABLE runs ADD COLUMN lr_schedule TEXT NOT NULL DEFAULT 'constant'
    CHECK (lr_schedule IN ('constant', 'cosine')  -- cosine: over the planned epochs
           OR lr_schedule GLOB 'step:*:*'         -- 'step:EVERY:FACTOR', e.g. 'step:100:0.5'
           OR lr_schedule GLOB 'plateau:*:*');    -- 'plateau:PATIENCE:FACTOR'
ALTER TABLE runs ADD COLUMN min_learning_rate REAL NOT NULL DEFAULT 0
    CHECK (min_learning_rate >= 0);             -- floor of step/plateau, end point of cosine
ALTER TABLE runs ADD COLUMN weight_decay REAL NOT NULL DEFAULT 0
    CHECK (weight_decay >= 0);                  -- L2 on the weights (not biases), in the update

-- The learning rate in effect during the epoch; NULL for epochs recorded before this
-- migration (their run's learning_rate, constant).
ALTER TABLE epochs ADD COLUMN learning_rate REAL
    CHECK (learning_rate IS NULL OR learning_rate >= 0);

-- run_summary as in 0004_sweeps.sql, with the five new runs columns after sweep_id and, last,
-- stopped_early_at: the epoch a completed run with patience stopped at, when that is before
-- its planned last epoch (derived, not stored: a completed run ends early only by patience).
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
    r.id, r.name, r.status, r.parent_run_id, r.parent_epoch, r.created_at, r.finished_at,
    r.learning_rate, r.batch_size, r.epochs, r.hidden, r.activation, r.loss, r.momentum,
    r.seed, r.train_size, r.val_size, r.dataset_path, r.dataset_checksum, r.code_version,
    r.kernel_path, r.keep_every, r.failure_reason, r.pid, r.host, r.heartbeat_at, r.sweep_id,
    r.patience, r.min_delta, r.lr_schedule, r.min_learning_rate, r.weight_decay,
    (SELECT count(*) FROM epochs WHERE run_id = r.id) AS epochs_done,
    last.epoch AS last_epoch,
    best.epoch AS best_epoch,
    best.val_loss AS best_val_loss,
    best.val_accuracy AS best_val_accuracy,
    (SELECT max(val_accuracy) FROM epochs WHERE run_id = r.id) AS max_val_accuracy,
    last.train_loss AS last_train_loss,
    last.train_accuracy AS last_train_accuracy,
    last.val_loss AS last_val_loss,
    last.val_accuracy AS last_val_accuracy,
    (SELECT sum(seconds) FROM epochs WHERE run_id = r.id) AS total_seconds,
    CASE WHEN r.status = 'completed' AND r.patience IS NOT NULL AND last.epoch < r.epochs
         THEN last.epoch END AS stopped_early_at
FROM runs AS r
LEFT JOIN epochs AS best
    ON best.run_id = r.id
    AND best.epoch = (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1)
LEFT JOIN epochs AS last
    ON last.run_id = r.id
    AND last.epoch = (SELECT max(epoch) FROM epochs WHERE run_id = r.id);
