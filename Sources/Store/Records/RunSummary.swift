/// A row of the `run_summary` view.

/// A run with its results so far; one row of `run_summary`. The results are nil until the
/// run has recorded an epoch. `bestEpoch` is the lowest val_loss, earliest on ties.
public struct RunSummary: Sendable, Equatable, Decodable {
    /// The run's own columns, from the same row.
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
    /// The state of the sweep trial the run trains, nil for a run of no sweep.
    public var trialStatus: TrialRecord.Status? = nil
    /// The last ASHA rung the run's trial reached (0 first): promoted that many times.
    public var rung: Int? = nil
}

// MARK: - Database

extension RunSummary {
    /// The columns run_summary adds to the run's, as in SQL: the row's own names, and the
    /// keys of its JSON (`runs --json`, `/api/runs`). A row decodes through them: `run` from
    /// the same row's other columns, `tags` from its comma-separated text.
    public enum Column: String, CodingKey, CaseIterable {
        /// Not a column: the run's own, `Run.CodingKeys`.
        case run
        case epochsDone = "epochs_done"
        case lastEpoch = "last_epoch"
        case bestEpoch = "best_epoch"
        case bestValLoss = "best_val_loss"
        case bestValAccuracy = "best_val_accuracy"
        case maxValAccuracy = "max_val_accuracy"
        case lastTrainLoss = "last_train_loss"
        case lastTrainAccuracy = "last_train_accuracy"
        case lastValLoss = "last_val_loss"
        case lastValAccuracy = "last_val_accuracy"
        case totalSeconds = "total_seconds"
        case stoppedEarlyAt = "stopped_early_at"
        case tags
        case trialStatus = "trial_status"
        case rung
    }

    typealias CodingKeys = Column
}
