-- 0014_asha_rungs.pg.sql: 0014_asha_rungs.sql for PostgreSQL — sweeps that spend compute
-- where it pays (`mnistlab sweep --asha`, `--tpe`): a trial can pause at a rung and be
-- promoted or pruned there, each rung a trial reaches is a row, and run_summary says where
-- each run's trial stands.
-- 2026-12-06

-- Where this departs from 0014_asha_rungs.sql, and why:
--   * trials keeps its table: PostgreSQL replaces the status CHECK constraint in place, where
--     SQLite rebuilds the table.
--   * Types as in 0008_trials.pg.sql: trial_id bigint, val_loss double precision.
--   * run_summary's tags and status read as in 0010_run_stats_metrics.pg.sql.

-- How a sweep searches, beside its grid; all NULL for a plain grid or random search.
ALTER TABLE sweeps ADD COLUMN epochs integer CHECK (epochs >= 1);  -- the most a trial trains
ALTER TABLE sweeps ADD COLUMN min_epochs integer CHECK (min_epochs >= 1);  -- ASHA's R: rung 0
ALTER TABLE sweeps ADD COLUMN reduction_factor integer     -- ASHA's η; NULL: no ASHA. Rungs
    CHECK (reduction_factor >= 2);                         -- at R·η^k epochs, and at `epochs`
ALTER TABLE sweeps ADD COLUMN tpe_startup integer          -- TPE: trials drawn at random before
    CHECK (tpe_startup >= 0);                              -- it models; NULL: no TPE

-- Two states more:
--   paused   its run stopped at the rung it reached, its checkpoint there kept: a worker
--            may promote it (resume the same run in place to the next rung)
--   pruned   paused when the sweep ended: not promoted; its run can still be resumed by hand
ALTER TABLE trials DROP CONSTRAINT trials_status_check;
ALTER TABLE trials ADD CONSTRAINT trials_status_check
    CHECK (status IN ('pending', 'running', 'paused', 'completed', 'pruned', 'failed'));
ALTER TABLE trials ADD COLUMN rung integer CHECK (rung >= 0);  -- ASHA: the last rung it
                                          -- reached (0 first); NULL before its first, or without ASHA

-- One row per rung an ASHA trial reached: what the promotion rule ranks. Written with the
-- trial's pause (or completion, at the last rung) in one transaction.
CREATE TABLE trial_rungs (
    trial_id    bigint NOT NULL REFERENCES trials(id),
    rung        integer NOT NULL CHECK (rung >= 0),
    epoch       integer NOT NULL CHECK (epoch >= 1),   -- the rung's epoch
    val_loss    double precision NOT NULL,  -- the metric ranked: validation loss at that epoch
    reached_at  text NOT NULL,       -- ISO-8601 UTC, database clock
    promoted_at text,                -- when a worker promoted it to the next rung; NULL: not
    PRIMARY KEY (trial_id, rung)
);

-- run_summary as in 0010_run_stats_metrics.pg.sql, the same columns in the same order, with
-- two at the end from the run's trial, NULL for a run of no sweep:
--   trial_status  pending, running, paused, completed, pruned or failed
--   rung          the last ASHA rung it reached (0 first); a trial at rung k > 0 was
--                 promoted k times
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
    r.id, r.name,
    CASE
        WHEN r.status <> 'running' OR r.id IN (SELECT id FROM live_runs) THEN r.status
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
    s.best_val_accuracy,
    s.max_val_accuracy,
    s.last_train_loss,
    s.last_train_accuracy,
    s.last_val_loss,
    s.last_val_accuracy,
    CASE WHEN s.epochs_done > 0 THEN s.total_seconds END AS total_seconds,
    CASE WHEN r.status = 'completed' AND r.patience IS NOT NULL AND s.last_epoch < r.epochs
         THEN s.last_epoch END AS stopped_early_at,
    (SELECT string_agg(tag, ',' ORDER BY tag COLLATE "C")
     FROM run_tags WHERE run_id = r.id) AS tags,
    r.note,
    r.uid,
    (SELECT status FROM trials WHERE run_id = r.id) AS trial_status,
    (SELECT rung FROM trials WHERE run_id = r.id) AS rung
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id;
