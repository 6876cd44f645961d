-- 0008_trials.sql: a sweep's grid points as rows that workers on any machine claim, train and
-- finish, each exactly once; a trial whose worker died is taken over and its run resumed.
-- 2026-11-28

-- One row per grid point of a sweep, written by `mnistlab sweep` with the sweep.
CREATE TABLE trials (
    id               INTEGER PRIMARY KEY,
    sweep_id         INTEGER NOT NULL REFERENCES sweeps(id),
    number           INTEGER NOT NULL CHECK (number >= 1),   -- position in the grid, from 1
    settings         TEXT NOT NULL,     -- the trial's `mnistlab train` arguments, a JSON array
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    run_id           INTEGER REFERENCES runs(id),   -- its one run, once a worker created it
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- claims so far:
                                                    -- 1 + takeovers and retries
    worker           TEXT,              -- 'host:pid' of the worker holding it
    worker_token     TEXT,              -- that worker's claim, checked by its every write
    lease_expires_at TEXT,              -- ISO-8601 UTC, database clock; the run's lease
                                        -- takes over once the run exists
    failure_reason   TEXT,
    UNIQUE (sweep_id, number),
    UNIQUE (sweep_id, settings)         -- each grid point exists once
);
CREATE INDEX trials_by_status ON trials(status, sweep_id, number);
CREATE INDEX trials_by_run ON trials(run_id);
