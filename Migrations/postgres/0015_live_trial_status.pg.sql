-- 0015_live_trial_status.pg.sql: 0015_live_trial_status.sql for PostgreSQL — run_summary's
-- trial_status read through live_trials, as every other reader of a trial's state reads it.
-- 2026-12-06

-- run_summary as in 0014_asha_rungs.pg.sql, the same columns in the same order; only
-- trial_status changes: a trial recorded 'running' that no live worker holds (not in
-- live_trials, 0011) reads 'pending', as `sweeps` and the next worker's claim see it.
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
    (SELECT CASE WHEN t.status = 'running' AND t.id NOT IN (SELECT id FROM live_trials)
                 THEN 'pending' ELSE t.status END
     FROM trials AS t WHERE t.run_id = r.id) AS trial_status,
    (SELECT rung FROM trials WHERE run_id = r.id) AS rung
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id;
