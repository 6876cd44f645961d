-- 0001_init.sql: the tables and indexes of an mnistlab database — runs, their per-epoch
-- metrics and their retained weight checkpoints — plus the migration log.
-- 2026-11-25

-- 'MNST' (0x4D4E5354), so that "a SQLite file, but not ours" can be told apart.
PRAGMA application_id = 1296978772;

-- One row per applied migration file; written by the Store's migrator, never by hand.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,   -- the NNNN of Migrations/NNNN_name.sql
    name       TEXT NOT NULL,         -- the file name without .sql, e.g. '0001_init'
    applied_at TEXT NOT NULL          -- ISO-8601 UTC with milliseconds
);

-- One row per training run. Hyperparameters are copied here so a run is reproducible from
-- its row alone. All timestamps are ISO-8601 UTC text with milliseconds
-- ('2026-11-25T08:22:13.123Z').
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,                 -- 'run-<id>' unless the user named it
    status           TEXT NOT NULL
                     CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    parent_run_id    INTEGER REFERENCES runs(id),   -- set when forked from another run
    parent_epoch     INTEGER,                       -- the parent's epoch it started from
    created_at       TEXT NOT NULL,
    finished_at      TEXT,                          -- NULL while running
    learning_rate    REAL NOT NULL CHECK (learning_rate > 0),
    batch_size       INTEGER NOT NULL CHECK (batch_size >= 1),
    epochs           INTEGER NOT NULL CHECK (epochs >= 1),  -- planned total, counted from 1
    hidden           TEXT NOT NULL,                 -- hidden layer widths, e.g. '100' or '256,128'
    activation       TEXT NOT NULL CHECK (activation IN ('sigmoid', 'relu', 'leaky-relu')),
    loss             TEXT NOT NULL CHECK (loss IN ('cross-entropy', 'mse')),
    momentum         REAL NOT NULL DEFAULT 0 CHECK (momentum >= 0 AND momentum < 1),
    seed             INTEGER NOT NULL,
    train_size       INTEGER NOT NULL CHECK (train_size >= 1),   -- examples
    val_size         INTEGER NOT NULL CHECK (val_size >= 0),     -- examples
    dataset_path     TEXT NOT NULL,
    dataset_checksum TEXT NOT NULL,
    code_version     TEXT NOT NULL,                 -- mnistlab version or git describe
    kernel_path      TEXT NOT NULL,                 -- CPU kernel used: 'avx512', 'avx2', 'scalar'
    keep_every       INTEGER NOT NULL DEFAULT 50 CHECK (keep_every >= 1),  -- checkpoint retention
    failure_reason   TEXT,                          -- e.g. 'loss became NaN at epoch 7'
    pid              INTEGER,                       -- process that last ran it
    host             TEXT,                          -- host name of that process
    heartbeat_at     TEXT,                          -- last sign of life, to detect dead processes
    CHECK ((parent_run_id IS NULL) = (parent_epoch IS NULL)),
    -- A fork starts from its parent's weights, so that checkpoint must exist and can't be
    -- deleted while the child does.
    FOREIGN KEY (parent_run_id, parent_epoch) REFERENCES checkpoints(run_id, epoch)
);
CREATE INDEX runs_by_parent ON runs(parent_run_id, parent_epoch);
CREATE INDEX runs_by_status ON runs(status);

-- One row per completed epoch. Epochs are 1-based; a forked run continues numbering at its
-- parent_epoch + 1. A diverging epoch (NaN/Inf loss) is not recorded: its run is marked
-- 'failed' instead, so the metrics are always finite.
CREATE TABLE epochs (
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    epoch          INTEGER NOT NULL CHECK (epoch >= 1),
    train_loss     REAL NOT NULL,
    train_accuracy REAL NOT NULL CHECK (train_accuracy BETWEEN 0 AND 1),  -- fraction 0..1
    val_loss       REAL NOT NULL,
    val_accuracy   REAL NOT NULL CHECK (val_accuracy BETWEEN 0 AND 1),    -- fraction 0..1
    seconds        REAL NOT NULL CHECK (seconds >= 0),                    -- wall time of the epoch
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
-- Best epoch of a run: lowest val_loss, earliest epoch on ties.
CREATE INDEX epochs_by_val_loss ON epochs(run_id, val_loss, epoch);

-- Model parameters after an epoch, kept by the retention rule (best, latest, every
-- keep_every-th, forked-from). numpy.frombuffer(weights, '<f4') reads a blob.
CREATE TABLE checkpoints (
    run_id          INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    weights         BLOB NOT NULL,   -- little-endian Float32, layer order W1,b1,W2,b2,…;
                                     -- each W is (fan_in, fan_out) row-major
    velocity        BLOB,            -- SGD momentum buffer, same layout; NULL when momentum = 0
    parameter_count INTEGER NOT NULL CHECK (length(weights) = 4 * parameter_count),
    checksum        INTEGER NOT NULL,  -- zlib CRC-32 of weights || velocity:
                                       -- zlib.crc32(weights + (velocity or b''))
    created_at      TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch),
    -- A checkpoint always has its metrics row.
    FOREIGN KEY (run_id, epoch) REFERENCES epochs(run_id, epoch),
    CHECK (velocity IS NULL OR length(velocity) = length(weights))
);
