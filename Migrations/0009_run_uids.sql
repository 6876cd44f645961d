-- 0009_run_uids.sql: a stable unique identifier on every run and every sweep, so that
-- `mnistlab import`, which copies runs between stores, knows what it copied before: importing
-- the same source twice adds nothing.
-- 2026-12-02

-- A row's identity in every store: a random UUID in the canonical lower-case 8-4-4-4-12 form,
-- e.g. '0b6b4a8e-5c7d-4f0e-9a1b-2c3d4e5f6a7b'. id is the row's number in one store and may be
-- another row's in the next; uid is chosen once, when the row is first written, and an import
-- copies it with the row.
ALTER TABLE runs ADD COLUMN uid TEXT;     -- the run's UUID
ALTER TABLE sweeps ADD COLUMN uid TEXT;   -- the sweep's UUID

-- Rows written before this migration get a fresh one each. SQLite 3.40 has no uuid function:
-- this makes a version-4 UUID, as PostgreSQL's gen_random_uuid() and Foundation's UUID() do
-- (122 random bits; the version digit 4, the variant digit one of 8 9 a b). Each group has a
-- randomblob of its own, so no random value is read twice and each row draws its own.
UPDATE runs SET uid =
    lower(hex(randomblob(4)))
    || '-' || lower(hex(randomblob(2)))
    || '-4' || substr(lower(hex(randomblob(2))), 2)
    || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2)
    || '-' || lower(hex(randomblob(6)));
UPDATE sweeps SET uid =
    lower(hex(randomblob(4)))
    || '-' || lower(hex(randomblob(2)))
    || '-4' || substr(lower(hex(randomblob(2))), 2)
    || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2)
    || '-' || lower(hex(randomblob(6)));

-- `import` finds a run or a sweep by its uid; no two rows share one.
CREATE UNIQUE INDEX runs_by_uid ON runs(uid);
CREATE UNIQUE INDEX sweeps_by_uid ON sweeps(uid);

-- Every row has a uid. PostgreSQL declares it (NOT NULL DEFAULT gen_random_uuid()::text);
-- SQLite can't add a NOT NULL column without a constant default, so two triggers per table
-- do the same:
--   *_insert_uid   a row inserted without a uid gets a fresh one, whoever writes it
--                  (`import` gives the source's)
--   *_update_uid   a uid can't be set to NULL
CREATE TRIGGER runs_insert_uid AFTER INSERT ON runs WHEN new.uid IS NULL
BEGIN
    UPDATE runs SET uid =
        lower(hex(randomblob(4)))
        || '-' || lower(hex(randomblob(2)))
        || '-4' || substr(lower(hex(randomblob(2))), 2)
        || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2)
        || '-' || lower(hex(randomblob(6)))
    WHERE id = new.id;
END;
CREATE TRIGGER runs_update_uid BEFORE UPDATE OF uid ON runs WHEN new.uid IS NULL
BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: runs.uid');
END;
CREATE TRIGGER sweeps_insert_uid AFTER INSERT ON sweeps WHEN new.uid IS NULL
BEGIN
    UPDATE sweeps SET uid =
        lower(hex(randomblob(4)))
        || '-' || lower(hex(randomblob(2)))
        || '-4' || substr(lower(hex(randomblob(2))), 2)
        || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2)
        || '-' || lower(hex(randomblob(6)))
    WHERE id = new.id;
END;
CREATE TRIGGER sweeps_update_uid BEFORE UPDATE OF uid ON sweeps WHEN new.uid IS NULL
BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: sweeps.uid');
END;

-- run_summary as in 0007_run_management.sql, with uid added at the end, after note.
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
    best.val_accuracy AS best_val_accuracy,
    s.max_val_accuracy,
    last.train_loss AS last_train_loss,
    last.train_accuracy AS last_train_accuracy,
    last.val_loss AS last_val_loss,
    last.val_accuracy AS last_val_accuracy,
    CASE WHEN s.epochs_done > 0 THEN s.total_seconds END AS total_seconds,
    CASE WHEN r.status = 'completed' AND r.patience IS NOT NULL AND s.last_epoch < r.epochs
         THEN s.last_epoch END AS stopped_early_at,
    (SELECT group_concat(t.tag, ',')
     FROM (SELECT tag FROM run_tags WHERE run_id = r.id ORDER BY tag) AS t) AS tags,
    r.note,
    r.uid
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id
LEFT JOIN epochs AS best ON best.run_id = r.id AND best.epoch = s.best_epoch
LEFT JOIN epochs AS last ON last.run_id = r.id AND last.epoch = s.last_epoch;
