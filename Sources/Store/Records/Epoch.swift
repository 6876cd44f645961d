/// A row of `epochs`: one epoch's metrics.

/// Metrics of one completed epoch. Mirrors `epochs`. Epochs are 1-based; a forked run's
/// continue at its parentEpoch + 1. Accuracies are fractions 0...1.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var runID: Int64
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var valLoss: Double
    public var valAccuracy: Double
    /// Wall time of the epoch, in seconds.
    public var seconds: Double
    /// Set by `Store.recordEpoch`; nil on a record not yet stored.
    public var recordedAt: String?
    /// The learning rate in effect during the epoch; nil for epochs recorded before
    /// migration 0006 (their run's `learningRate`).
    public var learningRate: Double? = nil

    public init(
        runID: Int64, epoch: Int, trainLoss: Double, trainAccuracy: Double, valLoss: Double,
        valAccuracy: Double, seconds: Double, recordedAt: String? = nil,
        learningRate: Double? = nil
    ) {
        self.runID = runID
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.valLoss = valLoss
        self.valAccuracy = valAccuracy
        self.seconds = seconds
        self.recordedAt = recordedAt
        self.learningRate = learningRate
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case runID = "run_id"
        case epoch
        case trainLoss = "train_loss"
        case trainAccuracy = "train_accuracy"
        case valLoss = "val_loss"
        case valAccuracy = "val_accuracy"
        case seconds
        case recordedAt = "recorded_at"
        case learningRate = "learning_rate"
    }
}

// MARK: - Database

extension EpochRecord {
    static let table = "epochs"
}
