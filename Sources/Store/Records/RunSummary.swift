/// A row of the `run_summary` view.
import GRDB

/// A run with its results so far; one row of `run_summary`. The results are nil until the
/// run has recorded an epoch. `bestEpoch` is the lowest val_loss, earliest on ties.
public struct RunSummary: Sendable, Equatable {
    public var run: Run
    public var epochsDone: Int
    public var lastEpoch: Int?
    public var bestEpoch: Int?
    public var bestValLoss: Double?
    public var bestValAccuracy: Double?
    public var maxValAccuracy: Double?
    public var lastTrainLoss: Double?
    public var lastTrainAccuracy: Double?
    public var lastValLoss: Double?
    public var lastValAccuracy: Double?
    /// Summed wall time of the run's own epochs, in seconds.
    public var totalSeconds: Double?
    /// The epoch a completed run stopped at because of its patience, before its planned last
    /// epoch; nil for every other run.
    public var stoppedEarlyAt: Int? = nil
    /// The run's tags, sorted (run_summary.tags split at its commas); empty when none.
    public var tags: [String] = []
}

// MARK: - Database

extension RunSummary: FetchableRecord {
    public init(row: Row) throws {
        run = try Run(row: row)
        epochsDone = row["epochs_done"]
        lastEpoch = row["last_epoch"]
        bestEpoch = row["best_epoch"]
        bestValLoss = row["best_val_loss"]
        bestValAccuracy = row["best_val_accuracy"]
        maxValAccuracy = row["max_val_accuracy"]
        lastTrainLoss = row["last_train_loss"]
        lastTrainAccuracy = row["last_train_accuracy"]
        lastValLoss = row["last_val_loss"]
        lastValAccuracy = row["last_val_accuracy"]
        totalSeconds = row["total_seconds"]
        stoppedEarlyAt = row["stopped_early_at"]
        let tagList: String? = row["tags"]
        tags = tagList.map { $0.split(separator: ",").map(String.init) } ?? []
    }
}
