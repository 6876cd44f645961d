-- 0010_run_stats_metrics.sql: the best epoch's val_accuracy and the last epoch's losses and
-- accuracies kept in run_stats beside best_epoch and last_epoch, so that run_summary reads no
-- epochs row: the dashboard reads every row of it, and its two joins to epochs were half the
-- cost of that read.
-- 2026-12-02

-- The figures run_summary took from the best and the last epoch rows; NULL when the run has
-- no epochs.
ALTER TABLE run_stats ADD COLUMN best_val_accuracy REAL;    -- val_accuracy of best_epoch
ALTER TABLE run_stats ADD COLUMN last_train_loss REAL;      -- train_loss of last_epoch
ALTER TABLE run_stats ADD COLUMN last_train_accuracy REAL;  -- train_accuracy of last_epoch
ALTER TABLE run_stats ADD COLUMN last_val_loss REAL;        -- val_loss of last_epoch
ALTER TABLE run_stats ADD COLUMN last_val_accuracy REAL;    -- val_accuracy of last_epoch

-- The runs that exist now: the values run_summary showed, read as it read them (the epoch
-- rows of best_epoch and last_epoch, by primary key).
UPDATE run_stats SET
    best_val_accuracy =
        (SELECT val_accuracy FROM epochs
         WHERE run_id = run_stats.run_id AND epoch = run_stats.best_epoch),
    (last_train_loss, last_train_accuracy, last_val_loss, last_val_accuracy) =
        (SELECT train_loss, train_accuracy, val_loss, val_accuracy FROM epochs
         WHERE run_id = run_stats.run_id AND epoch = run_stats.last_epoch);

-- The triggers of 0005_leases_and_run_stats.sql, recreated to keep the new columns too.
--
-- An insert, the common case, is folded in incrementally, one statement per rule, so that
-- each rule is written once and its columns move together:
--   the best   lowest val_loss, earliest epoch on ties (THE best-epoch rule, as in 0005)
--   the last   the highest epoch
--   the rest   count, seconds and the highest val_accuracy, whatever the epoch
DROP TRIGGER epochs_insert_stats;
CREATE TRIGGER epochs_insert_stats AFTER INSERT ON epochs
BEGIN
    UPDATE run_stats SET
        best_epoch = new.epoch,
        best_val_loss = new.val_loss,
        best_val_accuracy = new.val_accuracy
    WHERE run_id = new.run_id
      AND (best_epoch IS NULL OR new.val_loss < best_val_loss
           OR (new.val_loss = best_val_loss AND new.epoch < best_epoch));
    UPDATE run_stats SET
        last_epoch = new.epoch,
        last_train_loss = new.train_loss,
        last_train_accuracy = new.train_accuracy,
        last_val_loss = new.val_loss,
        last_val_accuracy = new.val_accuracy
    WHERE run_id = new.run_id AND (last_epoch IS NULL OR new.epoch >= last_epoch);
    UPDATE run_stats SET
        epochs_done = epochs_done + 1,
        total_seconds = total_seconds + new.seconds,
        max_val_accuracy = max(coalesce(max_val_accuracy, new.val_accuracy), new.val_accuracy)
    WHERE run_id = new.run_id;
END;

-- A delete or an update (rare: a script, or `rm`, which deletes the run's row here first so
-- that this finds nothing to do) recomputes the run's row from its epochs, each rule's columns
-- from one row: the best by epochs_by_val_loss, the last by the primary key. A run without
-- epochs gets 0 epochs, 0 seconds and NULL elsewhere. SQLite has no procedures, so the same
-- UPDATE appears in both triggers.
DROP TRIGGER epochs_delete_stats;
CREATE TRIGGER epochs_delete_stats AFTER DELETE ON epochs
BEGIN
    UPDATE run_stats SET
        (epochs_done, total_seconds, max_val_accuracy) =
            (SELECT count(*), coalesce(sum(seconds), 0), max(val_accuracy) FROM epochs
             WHERE run_id = run_stats.run_id),
        (best_epoch, best_val_loss, best_val_accuracy) =
            (SELECT epoch, val_loss, val_accuracy FROM epochs WHERE run_id = run_stats.run_id
             ORDER BY val_loss, epoch LIMIT 1),
        (last_epoch, last_train_loss, last_train_accuracy, last_val_loss, last_val_accuracy) =
            (SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs
             WHERE run_id = run_stats.run_id ORDER BY epoch DESC LIMIT 1)
    WHERE run_id = old.run_id;
END;

-- An update may move an epoch to another run: both runs are recomputed.
DROP TRIGGER epochs_update_stats;
CREATE TRIGGER epochs_update_stats AFTER UPDATE ON epochs
BEGIN
    UPDATE run_stats SET
        (epochs_done, total_seconds, max_val_accuracy) =
            (SELECT count(*), coalesce(sum(seconds), 0), max(val_accuracy) FROM epochs
             WHERE run_id = run_stats.run_id),
        (best_epoch, best_val_loss, best_val_accuracy) =
            (SELECT epoch, val_loss, val_accuracy FROM epochs WHERE run_id = run_stats.run_id
             ORDER BY val_loss, epoch LIMIT 1),
        (last_epoch, last_train_loss, last_train_accuracy, last_val_loss, last_val_accuracy) =
            (SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs
             WHERE run_id = run_stats.run_id ORDER BY epoch DESC LIMIT 1)
    WHERE run_id IN (old.run_id, new.run_id);
END;

-- run_summary as in 0009_run_uids.sql, the same columns in the same order, with
-- best_val_accuracy and the four last_* figures read from run_stats: the view reads runs,
-- run_stats and run_tags by primary key, and no epochs.
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
    r.id, r.name,
    CASE
        WHEN r.status <> 'running'
             OR r.lease_expires_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') THEN r.status
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
    r.uid
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id;
