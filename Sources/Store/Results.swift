/// Store's methods for what comes after training: test-set evaluations (`mnistlab evaluate`)
/// and sweeps (`mnistlab sweep`). Same rules as Writes.swift and Queries.swift: one write
/// transaction per write, every value bound.

extension Store {
    // MARK: - Evaluations

    /// Stores an evaluation and its 100 confusion cells in one transaction, replacing an
    /// earlier evaluation of the same run and epoch. The epoch must have been recorded.
    public func recordEvaluation(_ evaluation: EvaluationRecord) throws {
        let key = "run \(evaluation.runID) at epoch \(evaluation.epoch)"
        try attempt("Cannot record the evaluation of \(key) in \(location)") {
            let size = evaluation.confusion.count
            guard size == 10, evaluation.confusion.allSatisfy({ $0.count == size }) else {
                throw StoreError(.invalidArgument, "the confusion matrix must be 10×10.")
            }
            let arguments = [evaluation.runID.sqlValue, evaluation.epoch.sqlValue]
            try write { db in
                guard
                    try db.exists("SELECT 1 FROM epochs WHERE run_id = ? AND epoch = ?", arguments)
                else {
                    throw StoreError(.notFound, "\(key) has no recorded epoch.")
                }
                try db.execute("DELETE FROM confusion WHERE run_id = ? AND epoch = ?", arguments)
                try db.execute("DELETE FROM evaluations WHERE run_id = ? AND epoch = ?", arguments)
                try db.insert(
                    EvaluationRow(
                        runID: evaluation.runID, epoch: evaluation.epoch,
                        datasetChecksum: evaluation.datasetChecksum, testSize: evaluation.testSize,
                        testLoss: evaluation.testLoss, testAccuracy: evaluation.testAccuracy,
                        evaluatedAt: ""),
                    into: EvaluationRow.table, expressions: ["evaluated_at": dialect.now])
                // The 100 cells in one statement: one round trip to a server, not a hundred.
                var values: [SQLValue] = []
                for (trueLabel, row) in evaluation.confusion.enumerated() {
                    for (predictedLabel, count) in row.enumerated() {
                        values += [
                            evaluation.runID.sqlValue, evaluation.epoch.sqlValue,
                            trueLabel.sqlValue, predictedLabel.sqlValue, count.sqlValue,
                        ]
                    }
                }
                let rows = Array(repeating: "(?, ?, ?, ?, ?)", count: values.count / 5)
                try db.execute(
                    """
                    INSERT INTO confusion (run_id, epoch, true_label, predicted_label, count)
                    VALUES \(rows.joined(separator: ", "))
                    """, values)
            }
        }
    }

    /// The run's evaluations, by epoch, each with its confusion matrix.
    public func evaluations(runID: Int64) throws -> [EvaluationRecord] {
        try attempt("Cannot read the evaluations of run \(runID) from \(location)") {
            try read { db in
                let rows = try db.fetch(
                    "SELECT * FROM evaluations WHERE run_id = ? ORDER BY epoch", [runID.sqlValue]
                ).map { try $0.decode(EvaluationRow.self) }
                let cells = try db.fetch(
                    "SELECT * FROM confusion WHERE run_id = ?", [runID.sqlValue]
                ).map { try $0.decode(ConfusionCell.self) }
                return rows.map { row in
                    var matrix = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
                    for cell in cells where cell.epoch == row.epoch {
                        matrix[cell.trueLabel][cell.predictedLabel] = cell.count
                    }
                    return EvaluationRecord(
                        runID: row.runID, epoch: row.epoch, datasetChecksum: row.datasetChecksum,
                        testSize: row.testSize, testLoss: row.testLoss,
                        testAccuracy: row.testAccuracy, confusion: matrix,
                        evaluatedAt: row.evaluatedAt)
                }
            }
        }
    }

    // MARK: - Sweeps

    public func sweep(id: Int64) throws -> SweepRecord? {
        try attempt("Cannot read sweep \(id) from \(location)") {
            try read { db in
                try db.fetchOne("SELECT * FROM sweeps WHERE id = ?", [id.sqlValue])
                    .map { try $0.decode(SweepRecord.self) }
            }
        }
    }

    /// Each run of sweep `sweepID`'s validation loss per epoch, by run id (the sweep page's
    /// rung figure): one query for the whole sweep, not one per run.
    public func validationCurves(sweepID: Int64) throws -> [Int64: [(epoch: Int, value: Double)]] {
        try attempt("Cannot read the epochs of sweep \(sweepID) from \(location)") {
            try perEpochOfSweep(sweepID, column: "val_loss", table: "epochs")
        }
    }

    /// The test accuracies of sweep `sweepID`'s evaluated runs, by run id, in epoch order.
    public func testAccuracies(sweepID: Int64) throws -> [Int64: [(epoch: Int, value: Double)]] {
        try attempt("Cannot read the evaluations of sweep \(sweepID) from \(location)") {
            try perEpochOfSweep(sweepID, column: "test_accuracy", table: "evaluations")
        }
    }

    /// `column` of `table` (keyed by run_id and epoch) for every run of the sweep, by run id,
    /// in epoch order. Both names are this file's constants, never a caller's text.
    private func perEpochOfSweep(_ sweepID: Int64, column: StaticString, table: StaticString) throws
        -> [Int64: [(epoch: Int, value: Double)]]
    {
        try read { db in
            var values: [Int64: [(epoch: Int, value: Double)]] = [:]
            for row in try db.fetch(
                """
                SELECT t.run_id, t.epoch, t.\(column) AS value FROM \(table) AS t JOIN runs AS r ON r.id = t.run_id
                WHERE r.sweep_id = ? ORDER BY t.run_id, t.epoch
                """, [sweepID.sqlValue])
            {
                values[try row.get("run_id"), default: []].append((try row.get("epoch"), try row.get("value")))
            }
            return values
        }
    }

    /// The sweep's runs from `run_summary`, best first: lowest best_val_loss, runs without
    /// epochs last.
    public func summaries(sweepID: Int64) throws -> [RunSummary] {
        try attempt("Cannot list the runs of sweep \(sweepID) in \(location)") {
            try summaries(
                """
                SELECT * FROM run_summary WHERE sweep_id = ?
                ORDER BY best_val_loss IS NULL, best_val_loss, id
                """, [sweepID.sqlValue])
        }
    }
}
