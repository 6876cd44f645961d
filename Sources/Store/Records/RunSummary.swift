/// A row of the `run_summary` view.

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

extension RunSummary {
    init(row: SQLRow) throws {
        run = try row.decode()
        epochsDone = try row.get("epochs_done")
        lastEpoch = try row.get("last_epoch")
        bestEpoch = try row.get("best_epoch")
        bestValLoss = try row.get("best_val_loss")
        bestValAccuracy = try row.get("best_val_accuracy")
        maxValAccuracy = try row.get("max_val_accuracy")
        lastTrainLoss = try row.get("last_train_loss")
        lastTrainAccuracy = try row.get("last_train_accuracy")
        lastValLoss = try row.get("last_val_loss")
        lastValAccuracy = try row.get("last_val_accuracy")
        totalSeconds = try row.get("total_seconds")
        stoppedEarlyAt = try row.get("stopped_early_at")
        let tagList: String? = try row.get("tags")
        tags = tagList.map { $0.split(separator: ",").map(String.init) } ?? []
    }
}
