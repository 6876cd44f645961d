import Numerics

/// Everything that decides what a run computes, as recorded in the `runs` table.
public struct Hyperparameters: Equatable, Sendable {
    public var hidden: [Int] = [100]
    public var activation: Activation = .sigmoid
    public var loss: Loss = .crossEntropy
    public var learningRate: Double = 0.1
    public var batchSize: Int = 200
    public var momentum: Double = 0
    /// The planned last epoch (a total, also when resuming).
    public var epochs: Int = 1000
    public var seed: UInt64 = 1
    /// L2 weight decay λ on the weights (not the biases), inside the SGD update.
    public var weightDecay: Double = 0
    /// How the learning rate moves from `learningRate` (see `schedule`).
    public var lrSchedule: LearningRateSchedule.Kind = .constant
    /// The floor of step and plateau schedules, the end point of cosine.
    public var minLearningRate: Double = 0
    /// Stop after this many epochs without improvement; nil trains every planned epoch.
    public var patience: Int?
    /// The improvement in validation loss that counts for `patience`.
    public var minDelta: Double = 0

    public init() {}

    /// The learning rate of every epoch, from these settings.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(
            kind: lrSchedule, initial: learningRate, minimum: minLearningRate,
            plannedEpochs: epochs)
    }

    /// The one rule for a minimum improvement that these settings would ignore, for `train`,
    /// `resume` and every trial of `sweep`: `given`, the min delta asked for (nil when none
    /// was), only counts for early stopping. `runID`: the run being resumed.
    public func requirePatience(forMinDelta given: Double?, runID: Int64? = nil) throws(TrainingError) {
        if given != nil && patience == nil { throw .minDeltaWithoutPatience(runID: runID) }
    }

    /// Early stopping, when `patience` is set.
    public var earlyStopping: EarlyStopping? {
        patience.map { EarlyStopping(patience: $0, minDelta: minDelta) }
    }

    public func architecture(inputs: Int, outputs: Int) -> Architecture {
        Architecture(
            inputs: inputs, hidden: hidden, outputs: outputs, activation: activation, loss: loss)
    }

    /// `hidden` as the `runs.hidden` column writes it: "100" or "256,128".
    public var hiddenDescription: String { hidden.map(String.init).joined(separator: ",") }

    /// Parses "100" or "256,128"; nil when any width is not a positive integer.
    public static func parseHidden(_ text: String) -> [Int]? {
        let widths = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: " "))
        }
        guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return widths.map { $0! }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}

extension Hyperparameters {
    /// Whether the learning-rate schedule, weight decay and early stopping are those of
    /// `other`, so that a run with these settings continues one with `other`'s epoch for
    /// epoch. A schedule that spreads over the planned epochs (cosine) also needs the same
    /// planned last epoch.
    public func sameControls(as other: Hyperparameters) -> Bool {
        weightDecay == other.weightDecay && lrSchedule == other.lrSchedule
            && minLearningRate == other.minLearningRate && patience == other.patience
            && minDelta == other.minDelta
            && (!schedule.dependsOnPlannedEpochs || epochs == other.epochs)
    }

    /// Throws unless the minimum learning rate is below the learning rate, for schedules that
    /// move the rate towards it.
    public func requireScheduleFloorBelowRate() throws {
        guard lrSchedule != .constant, minLearningRate >= learningRate else { return }
        throw TrainingError.scheduleFloorAboveRate(
            minimum: minLearningRate, learningRate: learningRate, schedule: "\(lrSchedule)")
    }
}
