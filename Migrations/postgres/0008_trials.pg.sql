-- 0008_trials.pg.sql: 0008_trials.sql for PostgreSQL — a sweep's grid points as rows that
-- workers on any machine claim, train and finish, each exactly once; a trial whose worker
-- died is taken over and its run resumed.
-- 2026-12-02

-- Where this departs from 0008_trials.sql, and why:
--   * Types as in 0001_init.pg.sql: id, sweep_id and run_id bigint; id a plain primary key
--     with no default, so an INSERT must give it (on SQLite, INTEGER PRIMARY KEY numbers a
--     row that leaves it out as max(id) + 1; here the store does that itself).
--   * UNIQUE (sweep_id, settings) is a B-tree index, whose entries PostgreSQL caps at about
--     2.7 kB: a trial's settings (a `train` argument list, some hundred bytes) stay far below.

-- One row per grid point of a sweep, written by `mnistlab sweep` with the sweep.
CREATE TABLE trials (
    id               bigint PRIMARY KEY,
    sweep_id         bigint NOT NULL REFERENCES sweeps(id),
    number           integer NOT NULL CHECK (number >= 1),   -- position in the grid, from 1
    settings         text NOT NULL,     -- the trial's `mnistlab train` arguments, a JSON array
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    run_id           bigint REFERENCES runs(id),    -- its one run, once a worker created it
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- claims so far:
                                                    -- 1 + takeovers and retries
    worker           text,              -- 'host:pid' of the worker holding it
    worker_token     text,              -- that worker's claim, checked by its every write
    lease_expires_at text,              -- ISO-8601 UTC, database clock; the run's lease
                                        -- takes over once the run exists
    failure_reason   text,
    UNIQUE (sweep_id, number),
    UNIQUE (sweep_id, settings)         -- each grid point exists once
);
CREATE INDEX trials_by_status ON trials(status, sweep_id, number);
CREATE INDEX trials_by_run ON trials(run_id);
