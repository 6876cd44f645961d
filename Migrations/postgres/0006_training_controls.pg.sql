-- 0006_training_controls.pg.sql: 0006_training_controls.sql for PostgreSQL — early stopping,
-- learning-rate schedules and weight decay as settings of a run (runs), the learning rate in
-- effect per epoch (epochs), and run_summary recreated to carry them and to say whether, and
-- at which epoch, a run stopped early.
-- 2026-12-02

-- Where this departs from 0006_training_controls.sql, and why:
--   * lr_schedule GLOB 'step:*:*' is LIKE 'step:%:%' (and 'plateau:*:*' likewise): both are
--     case-sensitive and anchored, * and % match any run of characters, and neither pattern
--     holds _ or \, which LIKE would read specially.
--   * Types as in 0001_init.pg.sql: REAL is double precision.
--   * run_summary: the clock as in 0005_leases_and_run_stats.pg.sql.

-- Settings of a run, like learning_rate: a run's rates, decay and stopping follow from its
-- row and its recorded epochs alone. Rows written before this migration get the values that
-- describe what they did: constant rate, no decay, no early stopping.
ALTER TABLE runs ADD COLUMN patience integer
    CHECK (patience IS NULL OR patience >= 1);  -- epochs without improvement before stopping;
                                                -- NULL: no early stopping
ALTER TABLE runs ADD COLUMN min_delta double precision NOT NULL DEFAULT 0
    CHECK (min_delta >= 0);                     -- val_loss decrease that counts as improvement
ALTER TABLE runs ADD COLUMN lr_schedule text NOT NULL DEFAULT 'constant'
    CHECK (lr_schedule IN ('constant', 'cosine')  -- cosine: over the planned epochs
           OR lr_schedule LIKE 'step:%:%'         -- 'step:EVERY:FACTOR', e.g. 'step:100:0.5'
           OR lr_schedule LIKE 'plateau:%:%');    -- 'plateau:PATIENCE:FACTOR'
ALTER TABLE runs ADD COLUMN min_learning_rate double precision NOT NULL DEFAULT 0
    CHECK (min_learning_rate >= 0);             -- floor of step/plateau, end point of cosine
ALTER TABLE runs ADD COLUMN weight_decay double precision NOT NULL DEFAULT 0
    CHECK (weight_decay >= 0);                  -- L2 on the weights (not biases), in the update

-- The learning rate in effect during the epoch; NULL for epochs recorded before this
-- migration (their run's learning_rate, constant).
ALTER TABLE epochs ADD COLUMN learning_rate double precision
    CHECK (learning_rate IS NULL OR learning_rate >= 0);

-- run_summary as in 0005_leases_and_run_stats.pg.sql, with the five new runs columns after
-- lease_expires_at and, last, stopped_early_at: the epoch a completed run with patience
-- stopped at, when that is before its planned last epoch (derived, not stored: a completed
-- run ends early only by patience).
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
    r.id, r.name,
    CASE
        WHEN r.status <> 'running'
             OR r.lease_expires_at >= to_char(now() AT TIME ZONE 'UTC',
                                              'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') THEN r.status
        WHEN s.last_epoch >= r.epochs THEN 'completed'
        ELSE 'interrupted'
    END AS status,
    r.parent_run_id, r.parent_epoch, r.created_at, r.finished_at,
    r.learning_rate, r.batch_size, r.epochs, r.hidden, r.activation, r.loss, r.momentum,
    r.seed, r.train_size, r.val_size, r.dataset_path, r.dataset_checksum, r.code_version,
    r.kernel_path, r.keep_every, r.failure_reason, r.pid, r.host, r.heartbeat_at, r.sweep_id,
    r.owner_token, r.lease_expires_at,
    r.patience, r.min_delta, r.lr_schedule, r.min_learning_rate, r.weight_decay,
    s.epochs_done,
    s.last_epoch,
    s.best_epoch,
    s.best_val_loss,
    best.val_accuracy AS best_val_accuracy,
    s.max_val_accuracy,
    last.train_loss AS last_train_loss,
    last.train_accuracy AS last_train_accuracy,
    last.val_loss AS last_val_loss,
    last.val_accuracy AS last_val_accuracy,
    CASE WHEN s.epochs_done > 0 THEN s.total_seconds END AS total_seconds,
    CASE WHEN r.status = 'completed' AND r.patience IS NOT NULL AND s.last_epoch < r.epochs
         THEN s.last_epoch END AS stopped_early_at
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id
LEFT JOIN epochs AS best ON best.run_id = r.id AND best.epoch = s.best_epoch
LEFT JOIN epochs AS last ON last.run_id = r.id AND last.epoch = s.last_epoch;
