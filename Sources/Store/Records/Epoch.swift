/// A row of `epochs`: one epoch's metrics.
import GRDB

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

    public init(
        runID: Int64, epoch: Int, trainLoss: Double, trainAccuracy: Double, valLoss: Double,
        valAccuracy: Double, seconds: Double, recordedAt: String? = nil
    ) {
        self.runID = runID
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.valLoss = valLoss
        self.valAccuracy = valAccuracy
        self.seconds = seconds
        self.recordedAt = recordedAt
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case epoch
        case trainLoss = "train_loss"
        case trainAccuracy = "train_accuracy"
        case valLoss = "val_loss"
        case valAccuracy = "val_accuracy"
        case seconds
        case recordedAt = "recorded_at"
    }
}

// MARK: - Database

extension EpochRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "epochs"
}
