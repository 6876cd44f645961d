-- 0002_run_summary_view.pg.sql: 0002_run_summary_view.sql for PostgreSQL — one row per run
-- with its hyperparameters and results, so that comparing experiments is one plain
-- SELECT … FROM run_summary ORDER BY best_val_loss.
-- 2026-12-02

-- The view is 0002_run_summary_view.sql's, word for word: its SQL means the same on both
-- engines. Column types: epochs_done is bigint (count), the metrics double precision.

-- Every column of runs, then:
--   epochs_done        number of epochs this run recorded itself (0 when none yet)
--   last_epoch         highest epoch recorded; a fork counts on from its parent_epoch
--   best_epoch         lowest val_loss, earliest epoch on ties; best_val_loss and
--                      best_val_accuracy are that epoch's
--   max_val_accuracy   highest val_accuracy of any epoch (not necessarily the best_epoch)
--   last_*             metrics of last_epoch
--   total_seconds      summed wall time of this run's epochs
-- Runs without epochs appear with NULL results.
CREATE VIEW run_summary AS
SELECT
    r.id, r.name, r.status, r.parent_run_id, r.parent_epoch, r.created_at, r.finished_at,
    r.learning_rate, r.batch_size, r.epochs, r.hidden, r.activation, r.loss, r.momentum,
    r.seed, r.train_size, r.val_size, r.dataset_path, r.dataset_checksum, r.code_version,
    r.kernel_path, r.keep_every, r.failure_reason, r.pid, r.host, r.heartbeat_at,
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
