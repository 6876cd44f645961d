/// What a trial trains, as `trials.settings` stores it: the run's settings as typed, versioned
/// JSON, never command-line syntax, so that renaming a flag cannot break a stored trial.
///
/// Version 1 (written since migration 0012, which converted the `train` argument lists stored
/// before it), keys sorted, names as the `runs` columns have them:
///
///     {"data": {"directory": "/abs/Data/mnist", "train_limit": null, "validation_size": 10000},
///      "hyperparameters": {"activation": "sigmoid", "batch_size": 200, "epochs": 20,
///        "hidden": [100], "learning_rate": 0.1, "loss": "cross-entropy", "lr_schedule":
///        "constant", "min_delta": 0, "min_learning_rate": 0, "momentum": 0, "patience": null,
///        "seed": 1, "weight_decay": 0},
///      "keep_every": 50, "name": "sweep-1/lr=0.1", "version": 1}
import Foundation
import Numerics
import Store
import Training

public struct TrialSettings: Equatable, Sendable {
    /// The format this build writes; a trial in a newer one is refused, not guessed at.
    public static let version = 1

    /// The run's name, "sweep-<id>/<varied settings>".
    public var name: String
    /// Everything that decides what the run computes, early stopping and schedule included.
    public var hyperparameters: Hyperparameters
    /// Where the data is (as the sweep found it) and how it is split.
    public var data: DataSource
    /// A checkpoint is kept every this many epochs, besides the best and the last.
    public var keepEvery: Int

    public init(
        name: String, hyperparameters: Hyperparameters, data: DataSource,
        keepEvery: Int = Defaults.keepEvery
    ) {
        self.name = name
        self.hyperparameters = hyperparameters
        self.data = data
        self.keepEvery = keepEvery
    }

    /// The JSON text `trials.settings` holds: sorted keys, so equal settings are equal text
    /// (the column is unique per sweep).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain numbers, strings and arrays cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads `trials.settings`; throws `SweepError.settings` for text that is not settings
    /// of a version this build reads.
    public init(json text: String, trial: TrialRecord) throws(SweepError) {
        let data = Data(text.utf8)
        struct Versioned: Decodable { var version: Int }
        guard let version = try? JSONDecoder().decode(Versioned.self, from: data) else {
            throw .unreadableSettings(sweepID: trial.sweepID, number: trial.number)
        }
        guard version.version <= Self.version else {
            throw .newerSettings(
                sweepID: trial.sweepID, number: trial.number, version: version.version)
        }
        do {
            self = try JSONDecoder().decode(Self.self, from: data)
        } catch {
            throw .unreadableSettings(sweepID: trial.sweepID, number: trial.number)
        }
    }
}

extension TrialRecord {
    /// The trial's typed settings.
    public func decodedSettings() throws(SweepError) -> TrialSettings {
        try TrialSettings(json: settings, trial: self)
    }
}

// MARK: - JSON

extension TrialSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case version, name, hyperparameters, data
        case keepEvery = "keep_every"
    }

    enum HyperparameterKeys: String, CodingKey {
        case hidden, activation, loss, momentum, epochs, seed, patience
        case learningRate = "learning_rate", batchSize = "batch_size"
        case weightDecay = "weight_decay", lrSchedule = "lr_schedule"
        case minLearningRate = "min_learning_rate", minDelta = "min_delta"
    }

    enum DataKeys: String, CodingKey {
        case directory
        case validationSize = "validation_size", trainLimit = "train_limit"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.version, forKey: .version)
        try c.encode(name, forKey: .name)
        try c.encode(keepEvery, forKey: .keepEvery)
        let h = hyperparameters
        var hc = c.nestedContainer(keyedBy: HyperparameterKeys.self, forKey: .hyperparameters)
        try hc.encode(h.hidden, forKey: .hidden)
        try hc.encode(h.activation, forKey: .activation)
        try hc.encode(h.loss, forKey: .loss)
        try hc.encode(h.learningRate, forKey: .learningRate)
        try hc.encode(h.batchSize, forKey: .batchSize)
        try hc.encode(h.momentum, forKey: .momentum)
        try hc.encode(h.epochs, forKey: .epochs)
        try hc.encode(h.seed, forKey: .seed)
        try hc.encode(h.weightDecay, forKey: .weightDecay)
        try hc.encode(h.lrSchedule.description, forKey: .lrSchedule)
        try hc.encode(h.minLearningRate, forKey: .minLearningRate)
        try hc.encode(h.patience, forKey: .patience)
        try hc.encode(h.minDelta, forKey: .minDelta)
        var dc = c.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
        try dc.encode(data.directory, forKey: .directory)
        try dc.encode(data.validationSize, forKey: .validationSize)
        try dc.encode(data.trainLimit, forKey: .trainLimit)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        keepEvery = try c.decode(Int.self, forKey: .keepEvery)
        let hc = try c.nestedContainer(keyedBy: HyperparameterKeys.self, forKey: .hyperparameters)
        var h = Hyperparameters()
        h.hidden = try hc.decode([Int].self, forKey: .hidden)
        h.activation = try hc.decode(Activation.self, forKey: .activation)
        h.loss = try hc.decode(Loss.self, forKey: .loss)
        h.learningRate = try hc.decode(Double.self, forKey: .learningRate)
        h.batchSize = try hc.decode(Int.self, forKey: .batchSize)
        h.momentum = try hc.decode(Double.self, forKey: .momentum)
        h.epochs = try hc.decode(Int.self, forKey: .epochs)
        h.seed = try hc.decode(UInt64.self, forKey: .seed)
        h.weightDecay = try hc.decode(Double.self, forKey: .weightDecay)
        let schedule = try hc.decode(String.self, forKey: .lrSchedule)
        do {
            h.lrSchedule = try LearningRateSchedule.Kind.parse(schedule)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .lrSchedule, in: hc, debugDescription: "unknown schedule \(schedule)")
        }
        h.minLearningRate = try hc.decode(Double.self, forKey: .minLearningRate)
        h.patience = try hc.decodeIfPresent(Int.self, forKey: .patience)
        h.minDelta = try hc.decode(Double.self, forKey: .minDelta)
        hyperparameters = h
        let dc = try c.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
        data = DataSource(
            directory: try dc.decode(String.self, forKey: .directory),
            validationSize: try dc.decode(Int.self, forKey: .validationSize),
            trainLimit: try dc.decodeIfPresent(Int.self, forKey: .trainLimit))
    }
}

extension TrialSettings {
    /// The varied settings its name gives after "sweep-<id>/": "lr=0.1,hidden=256-128".
    public var label: String {
        name.split(separator: "/", maxSplits: 1).last.map(String.init) ?? name
    }
}

/// A setting a sweep can vary, as the ranking shows it.
public enum SweptSetting: String, CaseIterable, Sendable {
    case learningRate, hidden, activation, loss, momentum, batchSize, seed
    case weightDecay, lrSchedule, minLearningRate, patience, minDelta

    /// The settings shown for a sweep's trials: learning rate, hidden widths and activation
    /// always, and each other setting that takes more than one value among them.
    public static func shown(for trials: [TrialSettings]) -> [SweptSetting] {
        allCases.filter { setting in
            [.learningRate, .hidden, .activation].contains(setting)
                || Set(trials.map { setting.value(of: $0.hyperparameters) }).count > 1
        }
    }

    /// The setting's value in `h`, comparable across trials.
    func value(of h: Hyperparameters) -> AnyHashable {
        switch self {
        case .learningRate: h.learningRate
        case .hidden: h.hidden
        case .activation: h.activation
        case .loss: h.loss
        case .momentum: h.momentum
        case .batchSize: h.batchSize
        case .seed: h.seed
        case .weightDecay: h.weightDecay
        case .lrSchedule: h.lrSchedule.description
        case .minLearningRate: h.minLearningRate
        case .patience: h.patience
        case .minDelta: h.minDelta
        }
    }
}
