-- 0007_run_management.pg.sql: 0007_run_management.sql for PostgreSQL — tags and a note on
-- each run (`mnistlab tag`, `untag`, `note`), and run_summary recreated to carry them, so that
-- runs can be labelled, found and explained.
-- 2026-12-02

-- Where this departs from 0007_run_management.sql, and why:
--   * run_tags has no WITHOUT ROWID, which PostgreSQL doesn't have (a table is a heap beside
--     its primary key index).
--   * instr(tag, ',') = 0 is strpos(tag, ',') = 0.
--   * run_summary.tags: group_concat over the sorted tags is
--     string_agg(tag, ',' ORDER BY tag COLLATE "C"). SQLite sorts text bytewise (BINARY);
--     "C" is PostgreSQL's bytewise order, where the database's default collation may sort
--     'B' after 'a'. Both give NULL for a run without tags. It reads run_tags through its
--     primary key as on SQLite; PostgreSQL sorts the few tags of the run itself.
--   * Types as in 0001_init.pg.sql; the clock as in 0005_leases_and_run_stats.pg.sql.

-- Labels of a run, one row per (run, tag). A run's tags go with it when it is deleted (the
-- store deletes them explicitly too, in `rm`'s one transaction). A tag is not empty and has no
-- comma, since run_summary lists them comma-separated; control characters are refused by
-- mnistlab before it writes one.
CREATE TABLE run_tags (
    run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tag    text NOT NULL CHECK (tag <> '' AND strpos(tag, ',') = 0),
    PRIMARY KEY (run_id, tag)
);
-- `runs --tag T` and `WHERE run_id IN (SELECT run_id FROM run_tags WHERE tag = 'T')`; the
-- primary key already serves a run's own tags.
CREATE INDEX run_tags_by_tag ON run_tags(tag, run_id);

-- Why the run was started, or what it showed: free text, NULL when none. `mnistlab note`
-- replaces it.
ALTER TABLE runs ADD COLUMN note text;

-- run_summary as in 0006_training_controls.pg.sql, with two columns added at the end:
--   tags   the run's tags, sorted (bytewise) and comma-separated, e.g. 'baseline,seed';
--          NULL when it has none (as SQL's string_agg gives for no rows)
--   note   runs.note
-- The tags are one look-up per run on run_tags' primary key.
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
         THEN s.last_epoch END AS stopped_early_at,
    (SELECT string_agg(tag, ',' ORDER BY tag COLLATE "C")
     FROM run_tags WHERE run_id = r.id) AS tags,
    r.note
FROM runs AS r
JOIN run_stats AS s ON s.run_id = r.id
LEFT JOIN epochs AS best ON best.run_id = r.id AND best.epoch = s.best_epoch
LEFT JOIN epochs AS last ON last.run_id = r.id AND last.epoch = s.last_epoch;
