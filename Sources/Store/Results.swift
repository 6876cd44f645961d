/// Store's methods for what comes after training: test-set evaluations (`mnistlab evaluate`)
/// and sweeps (`mnistlab sweep`). Same rules as Writes.swift and Queries.swift: one IMMEDIATE
/// transaction per write, every value bound.
import GRDB

extension Store {
    // MARK: - Evaluations

    /// Stores an evaluation and its 100 confusion cells in one transaction, replacing an
    /// earlier evaluation of the same run and epoch. The epoch must have been recorded.
    public func recordEvaluation(_ evaluation: EvaluationRecord) throws {
        let key = "run \(evaluation.runID) at epoch \(evaluation.epoch)"
        try attempt("Cannot record the evaluation of \(key) in \(path)") {
            let size = evaluation.confusion.count
            guard size == 10, evaluation.confusion.allSatisfy({ $0.count == size }) else {
                throw StoreError(.invalidArgument, "the confusion matrix must be 10×10.")
            }
            let now = Timestamp.now()
            try writeTransaction { db in
                guard
                    try EpochRecord.exists(
                        db, key: ["run_id": evaluation.runID, "epoch": evaluation.epoch])
                else {
                    throw StoreError(.notFound, "\(key) has no recorded epoch.")
                }
                let arguments: StatementArguments = [evaluation.runID, evaluation.epoch]
                try db.execute(
                    sql: "DELETE FROM confusion WHERE run_id = ? AND epoch = ?",
                    arguments: arguments)
                try db.execute(
                    sql: "DELETE FROM evaluations WHERE run_id = ? AND epoch = ?",
                    arguments: arguments)
                try EvaluationRow(
                    runID: evaluation.runID, epoch: evaluation.epoch,
                    datasetChecksum: evaluation.datasetChecksum, testSize: evaluation.testSize,
                    testLoss: evaluation.testLoss, testAccuracy: evaluation.testAccuracy,
                    evaluatedAt: now
                ).insert(db)
                for (trueLabel, row) in evaluation.confusion.enumerated() {
                    for (predictedLabel, count) in row.enumerated() {
                        try ConfusionCell(
                            runID: evaluation.runID, epoch: evaluation.epoch, trueLabel: trueLabel,
                            predictedLabel: predictedLabel, count: count
                        ).insert(db)
                    }
                }
            }
        }
    }

    /// The run's evaluations, by epoch, each with its confusion matrix.
    public func evaluations(runID: Int64) throws -> [EvaluationRecord] {
        try attempt("Cannot read the evaluations of run \(runID) from \(path)") {
            try writer.read { db in
                let rows = try EvaluationRow.fetchAll(
                    db, sql: "SELECT * FROM evaluations WHERE run_id = ? ORDER BY epoch",
                    arguments: [runID])
                let cells = try ConfusionCell.fetchAll(
                    db, sql: "SELECT * FROM confusion WHERE run_id = ?", arguments: [runID])
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
        try attempt("Cannot read sweep \(id) from \(path)") {
            try writer.read { db in try SweepRecord.fetchOne(db, key: id) }
        }
    }

    /// The sweep's runs from `run_summary`, best first: lowest best_val_loss, runs without
    /// epochs last.
    public func summaries(sweepID: Int64) throws -> [RunSummary] {
        try attempt("Cannot list the runs of sweep \(sweepID) in \(path)") {
            try writer.read { db in
                try RunSummary.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM run_summary WHERE sweep_id = ?
                        ORDER BY best_val_loss IS NULL, best_val_loss, id
                        """,
                    arguments: [sweepID])
            }.map(Self.live)
        }
    }
}
