-- 0014_asha_rungs.sql: sweeps that spend compute where it pays (`mnistlab sweep --asha`,
-- `--tpe`): a trial can pause at a rung and be promoted or pruned there, each rung a trial
-- reaches is a row, and run_summary says where each run's trial stands.
-- 2026-12-06

-- How a sweep searches, beside its grid; all NULL for a plain grid or random search.
ALTER TABLE sweeps ADD COLUMN epochs INTEGER CHECK (epochs >= 1);  -- the most a trial trains
ALTER TABLE sweeps ADD COLUMN min_epochs INTEGER CHECK (min_epochs >= 1);  -- ASHA's R: rung 0
ALTER TABLE sweeps ADD COLUMN reduction_factor INTEGER     -- ASHA's η; NULL: no ASHA. Rungs
    CHECK (reduction_factor >= 2);                         -- at R·η^k epochs, and at `epochs`
ALTER TABLE sweeps ADD COLUMN tpe_startup INTEGER          -- TPE: trials drawn at random before
    CHECK (tpe_startup >= 0);                              -- it models; NULL: no TPE

-- trials as in 0008_trials.sql, with two states more and the rung. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt (no other table or view refers to it).
--   paused   its run stopped at the rung it reached, its checkpoint there kept: a worker
--            may promote it (resume the same run in place to the next rung)
--   pruned   paused when the sweep ended: not promoted; its run can still be resumed by hand
CREATE TABLE trials_0014 (
    id               INTEGER PRIMARY KEY,
    sweep_id         INTEGER NOT NULL REFERENCES sweeps(id),
    number           INTEGER NOT NULL CHECK (number >= 1),   -- position in the sweep, from 1
    settings         TEXT NOT NULL,     -- what the trial trains (see 0012)
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'paused', 'completed', 'pruned',
                                       'failed')),
    run_id           INTEGER REFERENCES runs(id),   -- its one run, once a worker created it
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- claims so far:
                                                    -- 1 + takeovers and retries (a promotion
                                                    -- starts again at 1)
    worker           TEXT,              -- 'host:pid' of the worker holding it
    worker_token     TEXT,              -- that worker's claim, checked by its every write
    lease_expires_at TEXT,              -- ISO-8601 UTC, database clock; the run's lease
                                        -- takes over once the run exists
    failure_reason   TEXT,
    job_id           INTEGER,           -- the batch job of its worker (see 0013)
    array_job_id     INTEGER,
    array_task_id    INTEGER,
    node             TEXT,
    rung             INTEGER CHECK (rung >= 0),  -- ASHA: the last rung it reached (0 first);
                                                 -- NULL before its first, or without ASHA
    UNIQUE (sweep_id, number),
    UNIQUE (sweep_id, settings)         -- each grid point exists once
);
INSERT INTO trials_0014 (id, sweep_id, number, settings, status, run_id, attempts, worker,
                         worker_token, lease_expires_at, failure_reason, job_id, array_job_id,
                         array_task_id, node)
    SELECT id, sweep_id, number, settings, status, run_id, attempts, worker, worker_token,
           lease_expires_at, failure_reason, job_id, array_job_id, array_task_id, node
    FROM trials;
-- live_trials (0011) reads trials: it goes while the table is replaced, then comes back as it was.
DROP VIEW live_trials;
DROP TABLE trials;
ALTER TABLE trials_0014 RENAME TO trials;
CREATE VIEW live_trials AS
SELECT id FROM trials
WHERE status = 'running'
  AND (lease_expires_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       OR run_id IN (SELECT id FROM live_runs));
CREATE INDEX trials_by_status ON trials(status, sweep_id, number);
CREATE INDEX trials_by_run ON trials(run_id);

-- One row per rung an ASHA trial reached: what the promotion rule ranks. Written with the
-- trial's pause (or completion, at the last rung) in one transaction.
CREATE TABLE trial_rungs (
    trial_id    INTEGER NOT NULL REFERENCES trials(id),
    rung        INTEGER NOT NULL CHECK (rung >= 0),
    epoch       INTEGER NOT NULL CHECK (epoch >= 1),   -- the rung's epoch
    val_loss    REAL NOT NULL,       -- the metric ranked: validation loss at that epoch
    reached_at  TEXT NOT NULL,       -- ISO-8601 UTC, database clock
    promoted_at TEXT,                -- when a worker promoted it to the next rung; NULL: not
    PRIMARY KEY (trial_id, rung)
);

-- run_summary as in 0010_run_stats_metrics.sql, the same columns in the same order, with
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
    (SELECT group_concat(t.tag, ',')
     FROM (SELECT tag FROM run_tags WHERE run_id = r.id ORDER BY tag) AS t) AS tags,
    r.note,
    r.uid,
    (SELECT status FROM trials WHERE run_id = r.id) AS trial_status,
    (SELECT rung FROM trials WHERE run_id = r.id) AS rung
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id;
