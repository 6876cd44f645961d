-- 0011_liveness.pg.sql: 0011_liveness.sql for PostgreSQL — the one rule for when a run or a
-- sweep trial is held by a live process, as two views that run_summary, claims, takeovers,
-- `rm` and `sweeps` all read, where each wrote it again before.
-- 2026-12-06

-- Where this departs from 0011_liveness.sql, and why:
--   * The clock: now() as ISO-8601 UTC text with milliseconds, as in 0010_run_stats_metrics.pg.sql.
--   * run_summary: as in 0010_run_stats_metrics.pg.sql (string_agg for the tags).

-- The runs a live process holds: status 'running' and a lease not expired (on the database's
-- clock). Whatever its status column says, a run not listed here is free: run_summary shows
-- it interrupted (or completed), and anyone may claim it. (On the machine it ran on, mnistlab
-- also treats a run whose process no longer exists as free at once: a pid can't be read in
-- SQL.)
CREATE VIEW live_runs AS
SELECT id FROM runs
WHERE status = 'running'
  AND lease_expires_at >= to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- The sweep trials a live worker holds: status 'running' and either the trial's own lease not
-- expired (the worker claimed it and is starting its run) or its run held by a live process.
-- A running trial not listed here waits for the next worker, which takes it over at once and
-- resumes its run.
CREATE VIEW live_trials AS
SELECT id FROM trials
WHERE status = 'running'
  AND (lease_expires_at >= to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       OR run_id IN (SELECT id FROM live_runs));

-- run_summary as in 0010_run_stats_metrics.pg.sql, the same columns in the same order, with
-- its status read through live_runs.
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
    r.uid
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id;
