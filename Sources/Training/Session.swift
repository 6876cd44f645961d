import Datasets
import Numerics
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Where a run's data comes from and how it is split.
public struct DataSource: Equatable, Sendable {
    public var directory: String
    public var validationSize: Int = 10_000
    /// Train on the first N images only (quick runs).
    public var trainLimit: Int?

    public init(directory: String, validationSize: Int = 10_000, trainLimit: Int? = nil) {
        self.directory = directory
        self.validationSize = validationSize
        self.trainLimit = trainLimit
    }
}

/// Which epoch of a run to resume from.
public enum ResumePoint: Equatable, Sendable {
    case best
    case last
    case epoch(Int)
}

/// Changes asked for when resuming; nil inherits the run's value.
public struct ResumeChanges: Equatable, Sendable {
    public var learningRate: Double?
    public var batchSize: Int?
    public var momentum: Double?
    /// The last epoch to reach (a total, as in `train`).
    public var epochs: Int?
    public var keepEvery: Int?
    public var name: String?
    /// Where the run's dataset is now, if it moved.
    public var dataDirectory: String?
    public var weightDecay: Double?
    public var lrSchedule: LearningRateSchedule.Kind?
    public var minLearningRate: Double?
    /// Epochs without improvement before stopping; 0 turns early stopping off.
    public var patience: Int?
    public var minDelta: Double?

    public init() {}
}

/// What the session reports while it works.
public struct SessionEvents {
    public var started: (Run, _ resumedFrom: Int?) -> Void = { _, _ in }
    /// After each epoch, with the seconds the loop waited for the store (normally ~0: the
    /// previous epoch's commit runs in the background while this one trains).
    public var epoch: (EpochMetrics, _ storeWaitSeconds: Double) -> Void = { _, _ in }
    /// While an epoch trains, at most every `Trainer.progressInterval` seconds.
    public var progress: (EpochProgress) -> Void = { _ in }
    public var note: (String) -> Void = { _ in }
    public var shouldStop: () -> Bool = { false }

    public init() {}
}

/// How a session ended, with the run it wrote to.
public enum SessionResult: Equatable, Sendable {
    case completed(runID: Int64)
    case interrupted(runID: Int64, lastEpoch: Int?)
    case failed(runID: Int64, reason: String)
}

/// Trains a new run or resumes one, recording every epoch and checkpoint in the store.
public struct Session {
    public let store: Store
    public var events: SessionEvents

    public init(store: Store, events: SessionEvents = SessionEvents()) {
        self.store = store
        self.events = events
    }

    // MARK: - Train

    /// Trains a new run; `sweepID` tags it as part of a `mnistlab sweep`.
    public func train(
        _ hyperparameters: Hyperparameters, data: DataSource, name: String? = nil,
        keepEvery: Int = 50, sweepID: Int64? = nil
    ) throws -> SessionResult {
        let mnist = try MNIST.load(directory: data.directory)
        let (train, validation) = try mnist.split(
            validationSize: data.validationSize, trainLimit: data.trainLimit)
        var new = newRun(
            hyperparameters, name: name, keepEvery: keepEvery, dataset: mnist,
            trainSize: train.count, valSize: validation.count)
        new.sweepID = sweepID
        let run = try store.createRun(new)
        let trainer = Trainer(hyperparameters: hyperparameters, train: train, validation: validation)
        events.started(run, nil)
        return try record(
            trainer, runID: run.id, epochs: 1...hyperparameters.epochs, history: [],
            keepEvery: keepEvery)
    }

    // MARK: - Resume

    /// Continues run `runID` from `point`. From the run's last epoch with unchanged
    /// hyperparameters it continues in place; otherwise it forks a child run that starts from
    /// that epoch's checkpoint, leaving the parent untouched.
    public func resume(runID: Int64, from point: ResumePoint?, changes: ResumeChanges)
        throws -> SessionResult
    {
        guard let run = try store.run(id: runID) else { throw SessionError.unknownRun(runID) }
        if run.status == .running {
            throw SessionError(
                "Run \(runID) is still running (pid \(run.pid.map(String.init) ?? "?") on \(run.host ?? "?")); stop it before resuming.")
        }
        let start = try startingPoint(of: run, at: point)
        let from = start.epoch

        var hyperparameters = try Hyperparameters(run)
        hyperparameters.learningRate = changes.learningRate ?? run.learningRate
        hyperparameters.batchSize = changes.batchSize ?? run.batchSize
        hyperparameters.momentum = changes.momentum ?? run.momentum
        hyperparameters.epochs = changes.epochs ?? run.epochs
        hyperparameters.weightDecay = changes.weightDecay ?? hyperparameters.weightDecay
        hyperparameters.lrSchedule = changes.lrSchedule ?? hyperparameters.lrSchedule
        hyperparameters.minLearningRate = changes.minLearningRate ?? hyperparameters.minLearningRate
        if let patience = changes.patience {
            hyperparameters.patience = patience > 0 ? patience : nil
        }
        hyperparameters.minDelta = changes.minDelta ?? hyperparameters.minDelta
        try hyperparameters.requireScheduleFloorBelowRate()
        let keepEvery = changes.keepEvery ?? run.keepEvery
        guard hyperparameters.epochs > from else {
            throw SessionError(
                "Run \(runID) would resume after epoch \(from), but its planned last epoch is \(hyperparameters.epochs); pass a larger --epochs (a total, as in train).")
        }

        let mnist = try MNIST.load(directory: changes.dataDirectory ?? run.datasetPath)
        try requireDataset(mnist, of: run)
        let (train, validation) = try mnist.split(
            validationSize: run.valSize, trainLimit: run.trainSize)
        if run.kernelPath != Network.kernelPath {
            events.note(
                "Run \(runID) trained with \(run.kernelPath) kernels and resumes with \(Network.kernelPath); every kernel path computes the same fused multiply-adds in the same order, so it continues bit for bit.")
        }
        let trainer = Trainer(
            hyperparameters: hyperparameters, train: train, validation: validation,
            parameters: start.weights,
            velocity: start.weights.map { start.velocity ?? [Float](repeating: 0, count: $0.count) })

        // What the schedule and patience read: the epochs that led to the starting point.
        let history = try start.parent.map {
            try store.lineageHistory(runID: $0.run, through: $0.epoch)
        }
        let recorded = try Hyperparameters(run)
        let sameSettings =
            hyperparameters.learningRate == run.learningRate
            && hyperparameters.batchSize == run.batchSize
            && hyperparameters.momentum == run.momentum && changes.name == nil
            && hyperparameters.sameControls(as: recorded)
        let target: Run
        if start.continuesRun && sameSettings {
            try store.markRunning(id: runID, plannedEpochs: hyperparameters.epochs)
            target = try store.run(id: runID) ?? run
        } else {
            var child = newRun(
                hyperparameters, name: changes.name, keepEvery: keepEvery, dataset: mnist,
                trainSize: train.count, valSize: validation.count)
            child.parentRunID = start.parent?.run
            child.parentEpoch = start.parent?.epoch
            target = try store.createRun(child)
        }
        events.started(target, from)
        return try record(
            trainer, runID: target.id, epochs: (from + 1)...hyperparameters.epochs,
            history: history ?? [], keepEvery: keepEvery)
    }

    /// Where resuming `run` starts: a kept checkpoint of its own, or — for a run stopped
    /// before its first epoch — where it began (its parent's checkpoint, or the seed's
    /// initial weights).
    private func startingPoint(of run: Run, at point: ResumePoint?) throws -> StartingPoint {
        guard try store.summary(runID: run.id)?.lastEpoch == nil else {
            let loaded = try store.checkpoint(
                runID: run.id, at: point ?? (run.status == .completed ? .best : .last))
            return StartingPoint(
                epoch: loaded.epoch, weights: loaded.checkpoint.weights,
                velocity: loaded.checkpoint.velocity, parent: (run.id, loaded.epoch),
                continuesRun: loaded.epoch == loaded.summary.lastEpoch)
        }
        guard point == nil || point == .last else {
            throw SessionError(
                "Run \(run.id) has no recorded epoch, so it can only restart from where it began; leave out --from.")
        }
        guard let parentID = run.parentRunID, let parentEpoch = run.parentEpoch else {
            return StartingPoint(
                epoch: 0, weights: nil, velocity: nil, parent: nil, continuesRun: true)
        }
        let loaded = try store.checkpoint(runID: parentID, at: .epoch(parentEpoch))
        return StartingPoint(
            epoch: parentEpoch, weights: loaded.checkpoint.weights,
            velocity: loaded.checkpoint.velocity, parent: (parentID, parentEpoch),
            continuesRun: true)
    }

    // MARK: - Recording

    /// Runs the trainer, committing each epoch with its checkpoint, and closes the run with
    /// the status the loop ended in. A failure to record marks the run failed and rethrows.
    private func record(
        _ trainer: Trainer, runID: Int64, epochs: ClosedRange<Int>, history: [RecordedEpoch],
        keepEvery: Int
    ) throws -> SessionResult {
        var lastEpoch: Int? = epochs.lowerBound > 1 ? epochs.lowerBound - 1 : nil
        let keepsVelocity = trainer.hyperparameters.momentum != 0
        let writer = EpochWriter(store: store)
        let outcome: TrainingOutcome
        do {
            outcome = try trainer.run(
                epochs: epochs, history: history, shouldStop: events.shouldStop,
                progress: events.progress
            ) { metrics in
                let waited = try writer.submit(
                    EpochRecord(
                        runID: runID, epoch: metrics.epoch, trainLoss: metrics.trainLoss,
                        trainAccuracy: metrics.trainAccuracy, valLoss: metrics.valLoss,
                        valAccuracy: metrics.valAccuracy, seconds: metrics.seconds,
                        learningRate: metrics.learningRate),
                    checkpoint: CheckpointRecord(
                        runID: runID, epoch: metrics.epoch, weights: trainer.network.parameters,
                        velocity: keepsVelocity ? trainer.network.velocity : nil),
                    keepEvery: keepEvery)
                lastEpoch = metrics.epoch
                events.epoch(metrics, waited)
            }
            try writer.finish()
        } catch {
            try? writer.finish()
            try? store.finishRun(id: runID, status: .failed, reason: "\(error)")
            throw error
        }
        switch outcome {
        case .completed:
            try store.finishRun(id: runID, status: .completed)
            return .completed(runID: runID)
        case .stoppedEarly(let epoch, let best):
            try store.finishRun(id: runID, status: .completed)
            let delta = trainer.hyperparameters.minDelta
            events.note(
                "Run \(runID) stopped early after epoch \(epoch): validation loss has not improved\(delta > 0 ? " by more than \(delta)" : "") for \(epoch - best) epochs since epoch \(best).")
            return .completed(runID: runID)
        case .interrupted:
            try store.finishRun(id: runID, status: .interrupted)
            return .interrupted(runID: runID, lastEpoch: lastEpoch)
        case .diverged(_, let reason):
            try store.finishRun(id: runID, status: .failed, reason: reason)
            return .failed(runID: runID, reason: reason)
        }
    }

    private func newRun(
        _ h: Hyperparameters, name: String?, keepEvery: Int, dataset: MNIST, trainSize: Int,
        valSize: Int
    ) -> NewRun {
        NewRun(
            name: name, parentRunID: nil, parentEpoch: nil, learningRate: h.learningRate,
            batchSize: h.batchSize, epochs: h.epochs, hidden: h.hiddenDescription,
            activation: h.activation.rawValue, loss: h.loss.rawValue, momentum: h.momentum,
            seed: Int64(bitPattern: h.seed), trainSize: trainSize, valSize: valSize,
            datasetPath: absolutePath(dataset.directory), datasetChecksum: dataset.checksum,
            codeVersion: MNISTLabVersion.current, kernelPath: Network.kernelPath,
            keepEvery: keepEvery, patience: h.patience, minDelta: h.minDelta,
            lrSchedule: h.lrSchedule.description, minLearningRate: h.minLearningRate,
            weightDecay: h.weightDecay)
    }
}

extension Hyperparameters {
    /// The hyperparameters a recorded run trained with.
    public init(_ run: Run) throws {
        self.init()
        guard let hidden = Hyperparameters.parseHidden(run.hidden),
            let activation = Activation(rawValue: run.activation),
            let loss = Loss(rawValue: run.loss)
        else {
            throw SessionError(
                "Run \(run.id) records an architecture this build cannot rebuild (hidden '\(run.hidden)', \(run.activation), \(run.loss)).")
        }
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        learningRate = run.learningRate
        batchSize = run.batchSize
        momentum = run.momentum
        epochs = run.epochs
        seed = UInt64(bitPattern: run.seed)
        guard let schedule = try? LearningRateSchedule.Kind.parse(run.lrSchedule) else {
            throw SessionError(
                "Run \(run.id) records a learning-rate schedule this build cannot read ('\(run.lrSchedule)').")
        }
        lrSchedule = schedule
        minLearningRate = run.minLearningRate
        weightDecay = run.weightDecay
        patience = run.patience
        minDelta = run.minDelta
    }
}

/// The state a resumed run starts from.
private struct StartingPoint {
    /// The last epoch already trained: 0 when starting from the initial weights.
    var epoch: Int
    /// nil: the seed's initial weights.
    var weights: [Float]?
    var velocity: [Float]?
    /// What a fork from here records as its parent; nil for a run that had none.
    var parent: (run: Int64, epoch: Int)?
    /// Whether this is the run's own latest state, so it can continue in place.
    var continuesRun: Bool
}

/// A session that cannot go on, in one line.
public struct SessionError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }

    public static func unknownRun(_ id: Int64) -> SessionError {
        SessionError("No run with id \(id) in this database; `mnistlab runs` lists the runs.")
    }
}

/// `path` made absolute against the current directory, so a run records where its data is.
func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
