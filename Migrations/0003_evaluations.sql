-- 0003_evaluations.sql: test-set results of a run's checkpoints (`mnistlab evaluate`): loss,
-- accuracy and the confusion matrix on the t10k images, queryable beside the training metrics.
-- 2026-11-25

-- One row per evaluated checkpoint. Evaluating the same epoch again replaces its row (and its
-- confusion cells). It references the epoch's metrics row, not the checkpoint, because
-- checkpoints are pruned as training goes on while an evaluation stays valid.
CREATE TABLE evaluations (
    run_id           INTEGER NOT NULL,
    epoch            INTEGER NOT NULL,
    dataset_checksum TEXT NOT NULL,   -- CRC-32 of the dataset, as runs.dataset_checksum
    test_size        INTEGER NOT NULL CHECK (test_size >= 1),                -- examples
    test_loss        REAL NOT NULL,   -- mean loss per example, the run's loss function
    test_accuracy    REAL NOT NULL CHECK (test_accuracy BETWEEN 0 AND 1),    -- fraction 0..1
    evaluated_at     TEXT NOT NULL,   -- ISO-8601 UTC with milliseconds
    PRIMARY KEY (run_id, epoch),
    FOREIGN KEY (run_id, epoch) REFERENCES epochs(run_id, epoch)
);

-- The confusion matrix of an evaluation: how many test images of true_label the network
-- classified as predicted_label. All 100 cells are stored, zeros included, so a matrix is one
-- ORDER BY and per-class figures are one GROUP BY.
CREATE TABLE confusion (
    run_id          INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    true_label      INTEGER NOT NULL CHECK (true_label BETWEEN 0 AND 9),
    predicted_label INTEGER NOT NULL CHECK (predicted_label BETWEEN 0 AND 9),
    count           INTEGER NOT NULL CHECK (count >= 0),
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
    CAST(sum(CASE WHEN predicted_label = true_label THEN count ELSE 0 END) AS REAL)
        / nullif(sum(count), 0) AS accuracy
FROM confusion
GROUP BY run_id, epoch, true_label;
