-- 0001_init.pg.sql: 0001_init.sql for PostgreSQL — the tables and indexes of an mnistlab
-- database (runs, their per-epoch metrics and their retained weight checkpoints) plus the
-- migration log, with the same names, columns and constraints as on SQLite.
-- 2026-12-02

-- Where this departs from 0001_init.sql, and why:
--   * No PRAGMA application_id: PostgreSQL has no such file header. A database is ours
--     when it has schema_migrations, which is also where its version is read (there is no
--     PRAGMA user_version either).
--   * Types: ids (id, run_id, parent_run_id), seed, pid and checksum are bigint, as wide as
--     SQLite's INTEGER (a CRC-32 does not fit a signed 32-bit integer); epochs, counts and
--     sizes are integer; REAL is double precision; BLOB is bytea, so length(weights) is
--     octet_length(weights).
--   * INTEGER PRIMARY KEY is a plain bigint PRIMARY KEY, no identity or serial: the store
--     chooses ids itself (max(id) + 1 under its lock), as it does on SQLite.
--   * runs' foreign key to checkpoints(run_id, epoch) is added by ALTER TABLE once
--     checkpoints exists: PostgreSQL, unlike SQLite, resolves a REFERENCES clause when the
--     table is created. It is the same constraint (MATCH SIMPLE, not deferrable, NO ACTION).
--   * Timestamps stay text in SQLite's format ('2026-11-25T08:22:13.123Z'), not timestamptz:
--     the same values read back from both engines, and such fixed-width strings of digits
--     order like the times they name in every collation, not only in "C".

-- One row per applied migration file; written by the Store's migrator, never by hand.
CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,   -- the NNNN of Migrations/NNNN_name.sql
    name       text NOT NULL,         -- the file name without .sql, e.g. '0001_init'
    applied_at text NOT NULL          -- ISO-8601 UTC with milliseconds
);

-- One row per training run. Hyperparameters are copied here so a run is reproducible from
-- its row alone. All timestamps are ISO-8601 UTC text with milliseconds
-- ('2026-11-25T08:22:13.123Z').
CREATE TABLE runs (
    id               bigint PRIMARY KEY,
    name             text NOT NULL,                 -- 'run-<id>' unless the user named it
    status           text NOT NULL
                     CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    parent_run_id    bigint REFERENCES runs(id),    -- set when forked from another run
    parent_epoch     integer,                       -- the parent's epoch it started from
    created_at       text NOT NULL,
    finished_at      text,                          -- NULL while running
    learning_rate    double precision NOT NULL CHECK (learning_rate > 0),
    batch_size       integer NOT NULL CHECK (batch_size >= 1),
    epochs           integer NOT NULL CHECK (epochs >= 1),  -- planned total, counted from 1
    hidden           text NOT NULL,                 -- hidden layer widths, e.g. '100' or '256,128'
    activation       text NOT NULL CHECK (activation IN ('sigmoid', 'relu', 'leaky-relu')),
    loss             text NOT NULL CHECK (loss IN ('cross-entropy', 'mse')),
    momentum         double precision NOT NULL DEFAULT 0 CHECK (momentum >= 0 AND momentum < 1),
    seed             bigint NOT NULL,
    train_size       integer NOT NULL CHECK (train_size >= 1),   -- examples
    val_size         integer NOT NULL CHECK (val_size >= 0),     -- examples
    dataset_path     text NOT NULL,
    dataset_checksum text NOT NULL,
    code_version     text NOT NULL,                 -- mnistlab version or git describe
    kernel_path      text NOT NULL,                 -- CPU kernel used: 'avx512', 'avx2', 'scalar'
    keep_every       integer NOT NULL DEFAULT 50 CHECK (keep_every >= 1),  -- checkpoint retention
    failure_reason   text,                          -- e.g. 'loss became NaN at epoch 7'
    pid              bigint,                        -- process that last ran it
    host             text,                          -- host name of that process
    heartbeat_at     text,                          -- last sign of life, to detect dead processes
    CHECK ((parent_run_id IS NULL) = (parent_epoch IS NULL))
    -- The foreign key (parent_run_id, parent_epoch) to checkpoints is added below.
);
CREATE INDEX runs_by_parent ON runs(parent_run_id, parent_epoch);
CREATE INDEX runs_by_status ON runs(status);

-- One row per completed epoch. Epochs are 1-based; a forked run continues numbering at its
-- parent_epoch + 1. A diverging epoch (NaN/Inf loss) is not recorded: its run is marked
-- 'failed' instead, so the metrics are always finite.
CREATE TABLE epochs (
    run_id         bigint NOT NULL REFERENCES runs(id),
    epoch          integer NOT NULL CHECK (epoch >= 1),
    train_loss     double precision NOT NULL,
    train_accuracy double precision NOT NULL
                   CHECK (train_accuracy BETWEEN 0 AND 1),  -- fraction 0..1
    val_loss       double precision NOT NULL,
    val_accuracy   double precision NOT NULL
                   CHECK (val_accuracy BETWEEN 0 AND 1),    -- fraction 0..1
    seconds        double precision NOT NULL CHECK (seconds >= 0),  -- wall time of the epoch
    recorded_at    text NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
-- Best epoch of a run: lowest val_loss, earliest epoch on ties.
CREATE INDEX epochs_by_val_loss ON epochs(run_id, val_loss, epoch);

-- Model parameters after an epoch, kept by the retention rule (best, latest, every
-- keep_every-th, forked-from). numpy.frombuffer(weights, '<f4') reads a blob.
CREATE TABLE checkpoints (
    run_id          bigint NOT NULL,
    epoch           integer NOT NULL,
    weights         bytea NOT NULL,  -- little-endian Float32, layer order W1,b1,W2,b2,…;
                                     -- each W is (fan_in, fan_out) row-major
    velocity        bytea,           -- SGD momentum buffer, same layout; NULL when momentum = 0
    parameter_count integer NOT NULL CHECK (octet_length(weights) = 4 * parameter_count),
    checksum        bigint NOT NULL,   -- zlib CRC-32 of weights || velocity:
                                       -- zlib.crc32(weights + (velocity or b''))
    created_at      text NOT NULL,
    PRIMARY KEY (run_id, epoch),
    -- A checkpoint always has its metrics row.
    FOREIGN KEY (run_id, epoch) REFERENCES epochs(run_id, epoch),
    CHECK (velocity IS NULL OR octet_length(velocity) = octet_length(weights))
);
-- Float32 weights don't compress: stored out of line as they are (EXTERNAL), the epoch's
-- commit spends no time trying to, and `db vacuum` gives their space back byte for byte.
ALTER TABLE checkpoints ALTER COLUMN weights SET STORAGE EXTERNAL,
                        ALTER COLUMN velocity SET STORAGE EXTERNAL;

-- A fork starts from its parent's weights, so that checkpoint must exist and can't be
-- deleted while the child does. (In 0001_init.sql this is part of CREATE TABLE runs.)
ALTER TABLE runs ADD CONSTRAINT runs_parent_run_id_parent_epoch_fkey
    FOREIGN KEY (parent_run_id, parent_epoch) REFERENCES checkpoints(run_id, epoch);
