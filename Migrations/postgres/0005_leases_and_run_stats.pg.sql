-- 0005_leases_and_run_stats.pg.sql: 0005_leases_and_run_stats.sql for PostgreSQL — one owner
-- per run through a lease (owner token + expiry on the database's clock), and per-run figures
-- kept by triggers, so that run_summary answers in milliseconds at 10,000 runs × 1,000 epochs
-- and a dead run shows as such without a write.
-- 2026-12-02

-- Where this departs from 0005_leases_and_run_stats.sql, and why:
--   * The clock. strftime('%Y-%m-%dT%H:%M:%fZ', 'now') is
--     to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'): the same text
--     ('2026-11-25T08:22:13.123Z', milliseconds truncated), the server's clock in UTC
--     whatever the session's TimeZone. now() is the transaction's start where SQLite's 'now'
--     is the statement's; the store's transactions are short.
--     strftime(…, heartbeat_at, '+30 seconds') parses the text instead:
--     (heartbeat_at::timestamptz + interval '30 seconds'); NULL stays NULL. (Text that is no
--     timestamp would stop the migration where SQLite writes NULL; mnistlab writes only its
--     own format.)
--   * Triggers run trigger functions (plpgsql, FOR EACH ROW, AFTER), with the triggers' names.
--     PostgreSQL has functions, so the recomputation that SQLite repeats in the delete and
--     update triggers is written once, in run_stats_recompute(run_id).
--     SQLite's two-argument max(a, b) is greatest(a, b); the two differ only when an argument
--     is NULL (SQLite gives NULL, greatest ignores it), and here neither ever is: new.epoch
--     and new.val_accuracy are NOT NULL and the stored figure is coalesced first.
--   * Types as in 0001_init.pg.sql: run_id bigint, REAL double precision.

-- Ownership. A process that trains a run claims it by writing a fresh random owner_token and
-- a lease; it renews the lease with every epoch commit and between them, and every write it
-- makes to the run checks that the token is still its own. A run whose lease has expired is
-- not running, whatever its status column says: anyone may claim it.
ALTER TABLE runs ADD COLUMN owner_token text;        -- NULL when no process holds the run
ALTER TABLE runs ADD COLUMN lease_expires_at text;   -- ISO-8601 UTC, database clock

-- A run that was running when this migration ran gets the lease it would have had.
UPDATE runs SET lease_expires_at =
    to_char((heartbeat_at::timestamptz + interval '30 seconds') AT TIME ZONE 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
WHERE status = 'running';

-- Figures of each run's epochs, kept up to date by the triggers below whoever writes the rows
-- (mnistlab, an import, a script with psql). One row per run.
CREATE TABLE run_stats (
    run_id           bigint PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    epochs_done      integer NOT NULL DEFAULT 0,  -- epochs this run recorded itself
    last_epoch       integer,                     -- highest recorded epoch; NULL when none
    best_epoch       integer,                     -- THE best-epoch rule: lowest val_loss,
                                                  -- earliest epoch on ties; NULL when none
    best_val_loss    double precision,            -- val_loss of best_epoch
    max_val_accuracy double precision,            -- highest val_accuracy of any epoch
    total_seconds    double precision NOT NULL DEFAULT 0  -- summed wall time of the run's epochs
);
-- Rankings (`best`, ORDER BY best_val_loss) read these instead of sorting every run.
CREATE INDEX run_stats_by_best_val_loss ON run_stats(best_val_loss, run_id);
CREATE INDEX run_stats_by_max_val_accuracy ON run_stats(max_val_accuracy, run_id);

-- Recomputes one run's row from its epochs (after a delete or an update, which are rare:
-- an insert, the common case, is folded in incrementally by epochs_insert_stats).
CREATE FUNCTION run_stats_recompute(target bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE run_stats SET
        epochs_done = (SELECT count(*) FROM epochs WHERE run_id = target),
        total_seconds = (SELECT coalesce(sum(seconds), 0) FROM epochs WHERE run_id = target),
        last_epoch = (SELECT max(epoch) FROM epochs WHERE run_id = target),
        max_val_accuracy = (SELECT max(val_accuracy) FROM epochs WHERE run_id = target),
        best_epoch = (SELECT epoch FROM epochs WHERE run_id = target
                      ORDER BY val_loss, epoch LIMIT 1),
        best_val_loss = (SELECT val_loss FROM epochs WHERE run_id = target
                         ORDER BY val_loss, epoch LIMIT 1)
    WHERE run_id = target;
$$;

-- Every run has its row from the start.
CREATE FUNCTION runs_insert_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_stats (run_id) VALUES (new.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER runs_insert_stats AFTER INSERT ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_insert_stats();

CREATE FUNCTION epochs_insert_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE run_stats SET
        epochs_done = epochs_done + 1,
        total_seconds = total_seconds + new.seconds,
        last_epoch = greatest(coalesce(last_epoch, new.epoch), new.epoch),
        max_val_accuracy = greatest(coalesce(max_val_accuracy, new.val_accuracy),
                                    new.val_accuracy),
        best_epoch = CASE
            WHEN best_epoch IS NULL OR new.val_loss < best_val_loss
                 OR (new.val_loss = best_val_loss AND new.epoch < best_epoch)
            THEN new.epoch ELSE best_epoch END,
        best_val_loss = CASE
            WHEN best_epoch IS NULL OR new.val_loss < best_val_loss
                 OR (new.val_loss = best_val_loss AND new.epoch < best_epoch)
            THEN new.val_loss ELSE best_val_loss END
    WHERE run_id = new.run_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER epochs_insert_stats AFTER INSERT ON epochs
    FOR EACH ROW EXECUTE FUNCTION epochs_insert_stats();

CREATE FUNCTION epochs_delete_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM run_stats_recompute(old.run_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER epochs_delete_stats AFTER DELETE ON epochs
    FOR EACH ROW EXECUTE FUNCTION epochs_delete_stats();

-- An update may move an epoch to another run: both runs are recomputed.
CREATE FUNCTION epochs_update_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM run_stats_recompute(old.run_id);
    IF new.run_id IS DISTINCT FROM old.run_id THEN
        PERFORM run_stats_recompute(new.run_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER epochs_update_stats AFTER UPDATE ON epochs
    FOR EACH ROW EXECUTE FUNCTION epochs_update_stats();

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

-- run_summary as in 0004_sweeps.pg.sql, with three changes:
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
