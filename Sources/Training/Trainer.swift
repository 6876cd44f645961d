import Datasets
import Numerics
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// What one epoch measured. Training loss and accuracy are the means over the epoch's batches,
/// each taken before that batch's update (the usual running figure); validation is measured
/// on the weights at the end of the epoch.
public struct EpochMetrics: Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var valLoss: Double
    public var valAccuracy: Double
    /// Wall time of training plus validation, without recording.
    public var seconds: Double
    /// The learning rate in effect during the epoch (the schedule's, before rounding to
    /// Float32 for the update).
    public var learningRate: Double
}

/// How far the epoch being trained has got.
public struct EpochProgress: Equatable, Sendable {
    public var epoch: Int
    public var batchesDone: Int
    public var batchCount: Int
    /// Mean training loss over the batches done so far.
    public var meanLoss: Double
    /// Seconds since the epoch started.
    public var seconds: Double
}

/// How a call to `Trainer.run` ended.
public enum TrainingOutcome: Equatable, Sendable {
    case completed
    /// Stopped between batches at the caller's request; `epoch` was abandoned, not recorded.
    case interrupted(epoch: Int)
    /// The loss became NaN or infinite during `epoch`, which was not recorded.
    case diverged(epoch: Int, reason: String)
    /// Early stopping: validation loss has not improved for `patience` epochs since
    /// `bestEpoch`, so training ended after `epoch` (recorded), before the planned last epoch.
    case stoppedEarly(epoch: Int, bestEpoch: Int)
}

/// The epoch loop: shuffles with (seed, epoch), steps through batches, validates.
///
/// It knows nothing of SQLite: each finished epoch goes to `onEpoch` with the network, whose
/// parameters and momentum are then exactly what resuming after that epoch needs.
public final class Trainer {
    public let hyperparameters: Hyperparameters
    public let network: Network
    let train: LabeledImages
    let validation: LabeledImages

    public init(
        hyperparameters: Hyperparameters, train: LabeledImages, validation: LabeledImages,
        parameters: [Float]? = nil, velocity: [Float]? = nil
    ) {
        let architecture = hyperparameters.architecture(
            inputs: train.images.columnCount, outputs: MNIST.classCount)
        self.hyperparameters = hyperparameters
        self.train = train
        self.validation = validation
        network = Network(
            architecture: architecture,
            parameters: parameters ?? architecture.initialParameters(seed: hyperparameters.seed),
            velocity: velocity,
            // A batch never holds more than the training set, nor a validation chunk more
            // than the validation set: no need for (or memory spent on) larger buffers.
            maxBatchSize: min(hyperparameters.batchSize, max(train.count, validation.count)))
    }

    /// Seconds between two `progress` calls: `Timeouts.progress`, unless
    /// MNISTLAB_PROGRESS_INTERVAL=S (read once) overrides it, so that tests can have a progress call after every batch (0) whatever
    /// the machine's speed.
    public static let progressInterval: Double = {
        guard let text = getenv("MNISTLAB_PROGRESS_INTERVAL"),
            let seconds = Double(String(cString: text)), seconds >= 0, seconds.isFinite
        else { return Timeouts.progress }
        return seconds
    }()

    /// Trains epochs `epochs`, calling `onEpoch` after each; `shouldStop` is polled between
    /// batches, `progress` called every `progressInterval` seconds of `clock` within an
    /// epoch. Errors thrown by `onEpoch` end the loop and propagate.
    ///
    /// `history` is what was recorded before `epochs.lowerBound` (the run's lineage): the
    /// learning-rate schedule and early stopping read it with the epochs trained here, so a
    /// resumed run takes the same rates and stops at the same epoch as an uninterrupted one.
    /// If the history already meets the stopping rule, nothing is trained.
    public func run(
        epochs: ClosedRange<Int>, history: [RecordedEpoch] = [],
        shouldStop: () -> Bool = { false },
        progress: (EpochProgress) -> Void = { _ in },
        clock: () -> Double = monotonicSeconds,
        onEpoch: (EpochMetrics) throws -> Void
    ) rethrows -> TrainingOutcome {
        // A batch larger than the training set is the whole set (and no sum overflows).
        let batchSize = min(hyperparameters.batchSize, train.count)
        let batchCount = (train.count + batchSize - 1) / batchSize
        let schedule = hyperparameters.schedule
        let stopping = hyperparameters.earlyStopping
        var history = history
        if let stopping, stopping.shouldStop(after: history), let last = history.last?.epoch,
            let best = stopping.bestEpoch(in: history)
        {
            return .stoppedEarly(epoch: last, bestEpoch: best)
        }
        for epoch in epochs {
            let learningRate = schedule.learningRate(epoch: epoch, history: history)
            let started = clock()
            var reported = started
            var batchesDone = 0
            let order = epochOrder(
                seed: hyperparameters.seed, epoch: epoch, count: train.count)
            var stats = BatchStats()
            var start = 0
            while start < order.count {
                if shouldStop() { return .interrupted(epoch: epoch) }
                let end = min(start + batchSize, order.count)
                let batch = network.train(
                    rows: order[start..<end], of: train.images, labels: train.labels,
                    learningRate: Float(learningRate),
                    momentum: Float(hyperparameters.momentum),
                    weightDecay: Float(hyperparameters.weightDecay))
                guard batch.lossSum.isFinite else {
                    return .diverged(
                        epoch: epoch,
                        reason: "training loss became \(batch.lossSum.isNaN ? "NaN" : "infinite") at epoch \(epoch), batch \(start / batchSize + 1)")
                }
                stats += batch
                start = end
                batchesDone += 1
                let now = clock()
                if now - reported >= Trainer.progressInterval {
                    reported = now
                    progress(
                        EpochProgress(
                            epoch: epoch, batchesDone: batchesDone, batchCount: batchCount,
                            meanLoss: stats.meanLoss, seconds: now - started))
                }
            }
            let validated = network.evaluate(validation.images, labels: validation.labels)
            guard validated.lossSum.isFinite else {
                return .diverged(epoch: epoch, reason: "validation loss is not finite at epoch \(epoch)")
            }
            try onEpoch(
                EpochMetrics(
                    epoch: epoch, trainLoss: stats.meanLoss, trainAccuracy: stats.accuracy,
                    valLoss: validated.meanLoss, valAccuracy: validated.accuracy,
                    seconds: clock() - started, learningRate: learningRate))
            history.append(RecordedEpoch(epoch: epoch, valLoss: validated.meanLoss))
            if let stopping, epoch < epochs.upperBound, stopping.shouldStop(after: history),
                let best = stopping.bestEpoch(in: history)
            {
                return .stoppedEarly(epoch: epoch, bestEpoch: best)
            }
        }
        return .completed
    }
}

/// Seconds on a clock that never jumps.
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}
