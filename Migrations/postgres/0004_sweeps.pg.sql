-- 0004_sweeps.pg.sql: 0004_sweeps.sql for PostgreSQL — grid searches (`mnistlab sweep`): a
-- sweeps table, runs.sweep_id tagging each run of one, and run_summary recreated to carry
-- sweep_id so a sweep ranks in one SELECT.
-- 2026-12-02

-- Where this departs from 0004_sweeps.sql, and why:
--   * Types as in 0001_init.pg.sql: sweeps.id and runs.sweep_id bigint, and sweeps.id a
--     plain primary key that the store numbers itself.
--   * The view is 0004_sweeps.sql's, word for word.

-- One row per `mnistlab sweep` invocation.
CREATE TABLE sweeps (
    id         bigint PRIMARY KEY,
    created_at text NOT NULL,   -- ISO-8601 UTC with milliseconds
    grid       text NOT NULL,   -- the swept values as JSON, e.g.
                                -- {"activation":["sigmoid","relu"],"learning_rate":[0.05,0.1]}
    size       integer NOT NULL CHECK (size >= 1)   -- runs in the grid
);

-- The sweep a run belongs to; NULL for runs started by `train` or `resume`.
ALTER TABLE runs ADD COLUMN sweep_id bigint REFERENCES sweeps(id);
CREATE INDEX runs_by_sweep ON runs(sweep_id);

-- run_summary as in 0002_run_summary_view.pg.sql, with sweep_id after the other runs columns.
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
    r.id, r.name, r.status, r.parent_run_id, r.parent_epoch, r.created_at, r.finished_at,
    r.learning_rate, r.batch_size, r.epochs, r.hidden, r.activation, r.loss, r.momentum,
    r.seed, r.train_size, r.val_size, r.dataset_path, r.dataset_checksum, r.code_version,
    r.kernel_path, r.keep_every, r.failure_reason, r.pid, r.host, r.heartbeat_at, r.sweep_id,
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
    (SELECT sum(seconds) FROM epochs WHERE run_id = r.id) AS total_seconds
FROM runs AS r
LEFT JOIN epochs AS best
    ON best.run_id = r.id
    AND best.epoch = (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1)
LEFT JOIN epochs AS last
    ON last.run_id = r.id
    AND last.epoch = (SELECT max(epoch) FROM epochs WHERE run_id = r.id);
