-- 0003_evaluations.pg.sql: 0003_evaluations.sql for PostgreSQL — test-set results of a run's
-- checkpoints (`mnistlab evaluate`): loss, accuracy and the confusion matrix on the t10k
-- images, queryable beside the training metrics.
-- 2026-12-02

-- Where this departs from 0003_evaluations.sql, and why:
--   * Types as in 0001_init.pg.sql: run_id bigint, REAL double precision.
--   * class_accuracy: CAST(… AS REAL) is ::double precision. Its columns are bigint
--     (examples, correct: sums of an integer column) and double precision (accuracy), as
--     SQLite gives integer and real.

-- One row per evaluated checkpoint. Evaluating the same epoch again replaces its row (and its
-- confusion cells). It references the epoch's metrics row, not the checkpoint, because
-- checkpoints are pruned as training goes on while an evaluation stays valid.
CREATE TABLE evaluations (
    run_id           bigint NOT NULL,
    epoch            integer NOT NULL,
    dataset_checksum text NOT NULL,   -- CRC-32 of the dataset, as runs.dataset_checksum
    test_size        integer NOT NULL CHECK (test_size >= 1),                -- examples
    test_loss        double precision NOT NULL,  -- mean loss per example, the run's loss function
    test_accuracy    double precision NOT NULL
                     CHECK (test_accuracy BETWEEN 0 AND 1),                  -- fraction 0..1
    evaluated_at     text NOT NULL,   -- ISO-8601 UTC with milliseconds
    PRIMARY KEY (run_id, epoch),
    FOREIGN KEY (run_id, epoch) REFERENCES epochs(run_id, epoch)
);

-- The confusion matrix of an evaluation: how many test images of true_label the network
-- classified as predicted_label. All 100 cells are stored, zeros included, so a matrix is one
-- ORDER BY and per-class figures are one GROUP BY.
CREATE TABLE confusion (
    run_id          bigint NOT NULL,
    epoch           integer NOT NULL,
    true_label      integer NOT NULL CHECK (true_label BETWEEN 0 AND 9),
    predicted_label integer NOT NULL CHECK (predicted_label BETWEEN 0 AND 9),
    count           integer NOT NULL CHECK (count >= 0),
    PRIMARY KEY (run_id, epoch, true_label, predicted_label),
    FOREIGN KEY (run_id, epoch) REFERENCES evaluations(run_id, epoch)
);

-- Per-class test accuracy (recall) of every evaluation:
--   examples   test images of that label
--   correct    those classified as that label
--   accuracy   correct / examples, a fraction 0..1 (NULL for a label with no images)
CREATE VIEW class_accuracy AS
SELECT
    run_id, epoch, true_label AS label,
    sum(count) AS examples,
    sum(CASE WHEN predicted_label = true_label THEN count ELSE 0 END) AS correct,
    sum(CASE WHEN predicted_label = true_label THEN count ELSE 0 END)::double precision
        / nullif(sum(count), 0) AS accuracy
FROM confusion
GROUP BY run_id, epoch, true_label;
