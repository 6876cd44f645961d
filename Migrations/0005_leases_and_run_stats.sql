-- 0005_leases_and_run_stats.sql: one owner per run through a lease (owner token + expiry on
-- the database's clock), and per-run figures kept by triggers, so that run_summary answers in
-- milliseconds at 10,000 runs × 1,000 epochs and a dead run shows as such without a write.
-- 2026-11-28

-- Ownership. A process that trains a run claims it by writing a fresh random owner_token and
-- a lease; it renews the lease with every epoch commit and between them, and every write it
-- makes to the run checks that the token is still its own. A run whose lease has expired is
-- not running, whatever its status column says: anyone may claim it.
ALTER TABLE runs ADD COLUMN owner_token TEXT;        -- NULL when no process holds the run
ALTER TABLE runs ADD COLUMN lease_expires_at TEXT;   -- ISO-8601 UTC, database clock

-- A run that was running when this migration ran gets the lease it would have had.
UPDATE runs SET lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', heartbeat_at, '+30 seconds')
WHERE status = 'running';

-- Figures of each run's epochs, kept up to date by the triggers below whoever writes the rows
-- (mnistlab, an import, a script with sqlite3). One row per run.
CREATE TABLE run_stats (
    run_id           INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    epochs_done      INTEGER NOT NULL DEFAULT 0,  -- epochs this run recorded itself
    last_epoch       INTEGER,                     -- highest recorded epoch; NULL when none
    best_epoch       INTEGER,                     -- THE best-epoch rule: lowest val_loss,
                                                  -- earliest epoch on ties; NULL when none
    best_val_loss    REAL,                        -- val_loss of best_epoch
    max_val_accuracy REAL,                        -- highest val_accuracy of any epoch
    total_seconds    REAL NOT NULL DEFAULT 0      -- summed wall time of the run's epochs
);
-- Rankings (`best`, ORDER BY best_val_loss) read these instead of sorting every run.
CREATE INDEX run_stats_by_best_val_loss ON run_stats(best_val_loss, run_id);
CREATE INDEX run_stats_by_max_val_accuracy ON run_stats(max_val_accuracy, run_id);

-- Recomputes one run's row from its epochs (after a delete or an update, which are rare:
-- an insert, the common case, is folded in incrementally by epochs_insert_stats).
-- SQLite has no procedures, so the same UPDATE appears in both triggers that need it.
CREATE TRIGGER runs_insert_stats AFTER INSERT ON runs
BEGIN
    INSERT INTO run_stats (run_id) VALUES (new.id);
END;

CREATE TRIGGER epochs_insert_stats AFTER INSERT ON epochs
BEGIN
    UPDATE run_stats SET
        epochs_done = epochs_done + 1,
        total_seconds = total_seconds + new.seconds,
        last_epoch = max(coalesce(last_epoch, new.epoch), new.epoch),
        max_val_accuracy = max(coalesce(max_val_accuracy, new.val_accuracy), new.val_accuracy),
        best_epoch = CASE
            WHEN best_epoch IS NULL OR new.val_loss < best_val_loss
                 OR (new.val_loss = best_val_loss AND new.epoch < best_epoch)
            THEN new.epoch ELSE best_epoch END,
        best_val_loss = CASE
            WHEN best_epoch IS NULL OR new.val_loss < best_val_loss
                 OR (new.val_loss = best_val_loss AND new.epoch < best_epoch)
            THEN new.val_loss ELSE best_val_loss END
    WHERE run_id = new.run_id;
END;

CREATE TRIGGER epochs_delete_stats AFTER DELETE ON epochs
BEGIN
    UPDATE run_stats SET
        epochs_done = (SELECT count(*) FROM epochs WHERE run_id = old.run_id),
        total_seconds = (SELECT coalesce(sum(seconds), 0) FROM epochs WHERE run_id = old.run_id),
        last_epoch = (SELECT max(epoch) FROM epochs WHERE run_id = old.run_id),
        max_val_accuracy = (SELECT max(val_accuracy) FROM epochs WHERE run_id = old.run_id),
        best_epoch = (SELECT epoch FROM epochs WHERE run_id = old.run_id
                      ORDER BY val_loss, epoch LIMIT 1),
        best_val_loss = (SELECT val_loss FROM epochs WHERE run_id = old.run_id
                         ORDER BY val_loss, epoch LIMIT 1)
    WHERE run_id = old.run_id;
END;

CREATE TRIGGER epochs_update_stats AFTER UPDATE ON epochs
BEGIN
    UPDATE run_stats SET
        epochs_done = (SELECT count(*) FROM epochs WHERE run_id = run_stats.run_id),
        total_seconds = (SELECT coalesce(sum(seconds), 0) FROM epochs
                         WHERE run_id = run_stats.run_id),
        last_epoch = (SELECT max(epoch) FROM epochs WHERE run_id = run_stats.run_id),
        max_val_accuracy = (SELECT max(val_accuracy) FROM epochs
                            WHERE run_id = run_stats.run_id),
        best_epoch = (SELECT epoch FROM epochs WHERE run_id = run_stats.run_id
                      ORDER BY val_loss, epoch LIMIT 1),
        best_val_loss = (SELECT val_loss FROM epochs WHERE run_id = run_stats.run_id
                         ORDER BY val_loss, epoch LIMIT 1)
    WHERE run_id IN (old.run_id, new.run_id);
END;

-- The figures of the runs that exist now.
INSERT INTO run_stats (run_id, epochs_done, last_epoch, best_epoch, best_val_loss,
                       max_val_accuracy, total_seconds)
SELECT r.id,
    (SELECT count(*) FROM epochs WHERE run_id = r.id),
    (SELECT max(epoch) FROM epochs WHERE run_id = r.id),
    (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
    (SELECT val_loss FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
    (SELECT max(val_accuracy) FROM epochs WHERE run_id = r.id),
    (SELECT coalesce(sum(seconds), 0) FROM epochs WHERE run_id = r.id)
FROM runs AS r;

-- run_summary as in 0004_sweeps.sql, with three changes:
--   status            the run's status as it really is: a 'running' row whose lease has
--                     expired (its process died, or its machine) reads 'interrupted', or
--                     'completed' if its last planned epoch was committed. No write needed.
--   owner_token, lease_expires_at   after sweep_id
--   the figures come from run_stats, so the view costs two primary-key look-ups per run.
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
    CASE WHEN s.epochs_done > 0 THEN s.total_seconds END AS total_seconds
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id
LEFT JOIN epochs AS best ON best.run_id = r.id AND best.epoch = s.best_epoch
LEFT JOIN epochs AS last ON last.run_id = r.id AND last.epoch = s.last_epoch;
