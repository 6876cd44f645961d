import Datasets
import Numerics
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Where a run's data comes from and how it is split.
public struct DataSource: Hashable, Sendable {
    /// The dataset loaded and split, ready to train on; it throws what training would, so a
    /// caller can find a bad directory or split before it writes anything.
    public func prepare() throws -> PreparedData {
        let mnist = try MNIST.load(directory: directory)
        let (train, validation) = try mnist.split(
            validationSize: validationSize, trainLimit: trainLimit)
        return PreparedData(mnist: mnist, train: train, validation: validation)
    }

    public var directory: String
    public var validationSize: Int = Defaults.validationSize
    /// Train on the first N images only (quick runs).
    public var trainLimit: Int?

    public init(
        directory: String, validationSize: Int = Defaults.validationSize, trainLimit: Int? = nil
    ) {
        self.directory = directory
        self.validationSize = validationSize
        self.trainLimit = trainLimit
    }
}

/// A dataset split for training, from `DataSource.prepare`.
public struct PreparedData: Sendable {
    public let mnist: MNIST
    public let train: LabeledImages
    public let validation: LabeledImages
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
    /// Training diverged or recording failed; `lastEpoch` is the last one recorded, if any.
    case failed(runID: Int64, reason: String, lastEpoch: Int?)
    /// Another process claimed the run after this one's lease expired (it was paused, or
    /// cut off from the database); nothing more was written to it.
    case leaseLost(runID: Int64, lastEpoch: Int?)
    /// A resume with nothing left to do: every epoch through `through` is recorded with the
    /// run's settings. Nothing was created or changed.
    case nothingToDo(runID: Int64, lastEpoch: Int, through: Int, stoppedEarly: Bool)
    /// Stopped as asked after epoch `epoch`, before the run's last (an ASHA rung): the run is
    /// left interrupted there, with that epoch's checkpoint, to continue exactly later.
    case paused(runID: Int64, epoch: Int)

    /// The run the session trained (or found nothing to do for).
    public var runID: Int64 {
        switch self {
        case .completed(let id), .interrupted(let id, _), .failed(let id, _, _),
            .leaseLost(let id, _), .nothingToDo(let id, _, _, _), .paused(let id, _):
            id
        }
    }
}

/// Trains a new run or resumes one, recording every epoch and checkpoint in the store.
///
/// The session holds the run it trains through a lease (see `Store.claimRun`): renewed by
/// every epoch commit and, between commits, every `Timeouts.renewal`. If another process
/// takes the run over, the session stops writing to it at once.
public struct Session {
    public let store: Store
    public var events: SessionEvents
    /// How long the run stays held without a sign of life from this process.
    public var leaseSeconds: Double

    public init(
        store: Store, events: SessionEvents = SessionEvents(),
        leaseSeconds: Double = Timeouts.lease
    ) {
        self.store = store
        self.events = events
        self.leaseSeconds = leaseSeconds
    }

    // MARK: - Train

    /// Trains a new run; `sweepID` tags it as part of a `mnistlab sweep`, and `trial` (a
    /// claimed trial of that sweep) gets the run linked to it as it is created. With
    /// `pauseAfter`, training stops after that epoch (`.paused`), its schedule still planned
    /// over all the run's epochs, so that a later resume continues it bit for bit.
    public func train(
        _ hyperparameters: Hyperparameters, data: PreparedData, name: String? = nil,
        keepEvery: Int = Defaults.keepEvery, sweepID: Int64? = nil, trial: TrialClaim? = nil,
        pauseAfter: Int? = nil
    ) throws -> SessionResult {
        let (mnist, train, validation) = (data.mnist, data.train, data.validation)
        try Self.requireBatchFits(hyperparameters.batchSize, train)
        var new = newRun(
            hyperparameters, name: name, keepEvery: keepEvery, dataset: mnist,
            trainSize: train.count, valSize: validation.count)
        new.sweepID = sweepID
        let (run, lease) = try store.createRun(new, leaseSeconds: leaseSeconds, for: trial)
        let trainer = Trainer(hyperparameters: hyperparameters, train: train, validation: validation)
        events.started(run, nil)
        return try record(
            trainer, lease: lease, epochs: 1...min(hyperparameters.epochs, pauseAfter ?? .max),
            history: [], keepEvery: keepEvery, recordedThrough: nil)
    }

    // MARK: - Resume

    /// Continues run `runID` as `ResumePlan` decides: in place (claiming the run, which fails
    /// with `StoreError.runHeld` while another process holds it), as a fork from one of its
    /// checkpoints (the parent untouched), or not at all when there is nothing left to do.
    /// With `pauseAfter`, it stops after that epoch as `train` does (`.paused` at once, writing
    /// nothing, when the run has recorded it already).
    public func resume(
        runID: Int64, from point: ResumePoint?, changes: ResumeChanges, pauseAfter: Int? = nil
    ) throws -> SessionResult {
        guard let summary = try store.summary(runID: runID) else {
            throw TrainingError.unknownRun(runID)
        }
        let run = summary.run
        let plan = try ResumePlan.decide(
            .init(
                run: run, lastEpoch: summary.lastEpoch, bestEpoch: summary.bestEpoch,
                stoppedEarlyAt: summary.stoppedEarlyAt),
            from: point, changes: changes)
        var start: Int
        let through: Int
        switch plan {
        case .nothingToDo(let last, let through, let stoppedEarly):
            return .nothingToDo(
                runID: runID, lastEpoch: last, through: through, stoppedEarly: stoppedEarly)
        case .inPlace(let after, let end), .fork(let after, let end):
            (start, through) = (after, end)
        }
        if let pauseAfter, pauseAfter < through, start >= pauseAfter {
            return .paused(runID: runID, epoch: start)
        }
        // Refused before loading anything; `claimRun` below is what makes it atomic.
        if case .inPlace = plan, run.status == .running {
            throw StoreError.held(run)
        }

        let hyperparameters = try Hyperparameters(run).applying(changes)
        try hyperparameters.requirePatience(forMinDelta: changes.minDelta, runID: runID)
        let keepEvery = changes.keepEvery ?? run.keepEvery

        let mnist = try MNIST.load(directory: changes.dataDirectory ?? run.datasetPath)
        try requireDataset(mnist, of: run)
        let (train, validation) = try mnist.split(
            validationSize: run.valSize, trainLimit: run.trainSize)
        try Self.requireBatchFits(hyperparameters.batchSize, train)
        // The weights after `start`: the run's own checkpoint, else (a run that recorded no
        // epoch) its parent's at the fork point, else the seed's initial weights. A fork
        // chooses its epoch again as it is created, in one transaction with reading that
        // checkpoint: a run still training may have moved its last or best epoch on since.
        let loaded: CheckpointRecord?
        var forked: (run: Run, lease: Lease)?
        if case .fork = plan {
            var child = newRun(
                hyperparameters, name: changes.name, keepEvery: keepEvery, dataset: mnist,
                trainSize: train.count, valSize: validation.count)
            child.parentRunID = runID
            let (from, fork) = try store.createFork(child, leaseSeconds: leaseSeconds) { now in
                Self.forkEpoch(now, from: point, changes: changes)
            }
            guard let fork else {
                throw TrainingError.noCheckpoint(
                    runID: runID, epoch: from.epoch ?? start, kept: from.kept)
            }
            forked = fork
            start = from.epoch ?? start
            loaded = from.checkpoint
        } else {
            let origin: (run: Int64, epoch: Int)? =
                summary.lastEpoch != nil ? (runID, start) : run.parentRunID.map { ($0, start) }
            do {
                loaded = try origin.map { try store.checkpoint(runID: $0.run, at: .epoch($0.epoch)).checkpoint }
            } catch {
                // Another process may have claimed the run meanwhile and pruned that checkpoint.
                if let now = try store.run(id: runID), now.status == .running {
                    throw StoreError.held(now)
                }
                throw error
            }
        }
        if run.kernelPath != Network.kernelPath {
            events.note(
                "Run \(runID) trained with \(run.kernelPath) kernels and resumes with \(Network.kernelPath); every kernel path computes the same fused multiply-adds in the same order, so it continues bit for bit.")
        }
        if case .inPlace = plan, summary.lastEpoch != nil, point != nil, point != .last {
            events.note(
                "Run \(runID) recorded epochs through \(start) with these settings, so it continues in place after epoch \(start); a fork from an earlier epoch would recompute the same epochs bit for bit.")
        }
        let trainer = Trainer(
            hyperparameters: hyperparameters, train: train, validation: validation,
            parameters: loaded?.weights,
            velocity: loaded.map { $0.velocity ?? [Float](repeating: 0, count: $0.weights.count) })

        // What the schedule and patience read: the epochs that led to the starting point.
        let origin: (run: Int64, epoch: Int)? =
            forked != nil || summary.lastEpoch != nil
            ? (runID, start) : run.parentRunID.map { ($0, start) }
        let history = try origin.map {
            try store.lineageHistory(runID: $0.run, through: $0.epoch)
        }
        let target: Run, lease: Lease
        if let forked {
            (target, lease) = forked
        } else {
            var update = RunUpdate(
                epochs: through, keepEvery: keepEvery, datasetPath: absolutePath(mnist.directory))
            if summary.lastEpoch == nil {
                update.learningRate = changes.learningRate
                update.batchSize = changes.batchSize
                update.momentum = changes.momentum
                update.name = changes.name
            }
            (target, lease) = try store.claimRun(
                id: runID, update: update, leaseSeconds: leaseSeconds)
        }
        events.started(target, start)
        // The run's own last recorded epoch: a fork has none yet.
        let recorded: Int? = if case .inPlace = plan { summary.lastEpoch } else { nil }
        return try record(
            trainer, lease: lease, epochs: (start + 1)...min(through, pauseAfter ?? .max),
            history: history ?? [], keepEvery: keepEvery, recordedThrough: recorded)
    }

    /// The epoch a fork of the run `summary` describes starts from, as `ResumePlan` decides
    /// it on that summary; nil when it no longer decides a fork.
    private static func forkEpoch(
        _ summary: RunSummary, from point: ResumePoint?, changes: ResumeChanges
    ) -> Int? {
        let facts = ResumePlan.Facts(
            run: summary.run, lastEpoch: summary.lastEpoch, bestEpoch: summary.bestEpoch,
            stoppedEarlyAt: summary.stoppedEarlyAt)
        guard case .fork(let from, _)? = try? ResumePlan.decide(facts, from: point, changes: changes)
        else { return nil }
        return from
    }

    /// Refuses a batch larger than the training set, which would silently train on smaller
    /// batches than asked.
    public static func requireBatchFits(_ batchSize: Int, _ train: LabeledImages) throws {
        if batchSize > train.count {
            throw TrainingError.batchLargerThanTrainingSet(
                batchSize: batchSize, images: train.count)
        }
    }

    // MARK: - Recording

    /// Runs the trainer, committing each epoch with its checkpoint, and closes the run with
    /// the status the loop ended in. A failure to record marks the run failed and rethrows;
    /// a lost lease stops at once and writes nothing more.
    private func record(
        _ trainer: Trainer, lease: Lease, epochs: ClosedRange<Int>, history: [RecordedEpoch],
        keepEvery: Int, recordedThrough: Int?
    ) throws -> SessionResult {
        let runID = lease.runID
        var lastEpoch = recordedThrough
        let keepsVelocity = trainer.hyperparameters.momentum != 0
        let writer = EpochWriter(store: store)
        let keeper = LeaseKeeper(store: store, lease: lease)
        defer { keeper.stop() }
        let shouldStop = events.shouldStop
        // Each epoch is reported once its commit is done, so that every epoch a user saw is
        // in the store, even when a later commit fails: when the next one is submitted (which
        // waits for it), between the next epoch's batches, or at the end.
        var unreported: [(EpochMetrics, Double)] = []
        func reportCommitted() {
            let count = min(writer.takeCommitted(), unreported.count)
            for (metrics, waited) in unreported.prefix(count) { events.epoch(metrics, waited) }
            unreported.removeFirst(count)
        }
        let outcome: TrainingOutcome
        do {
            outcome = try trainer.run(
                epochs: epochs, history: history,
                shouldStop: {
                    reportCommitted()
                    return shouldStop() || keeper.isLost
                },
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
                    keepEvery: keepEvery, lease: lease)
                lastEpoch = metrics.epoch
                unreported.append((metrics, waited))
                reportCommitted()
            }
            try writer.finish()
            reportCommitted()
        } catch let error as StoreError where error.kind == .leaseLost(runID: runID) {
            try? writer.finish()
            reportCommitted()
            return .leaseLost(runID: runID, lastEpoch: committed(lastEpoch, runID))
        } catch {
            try? writer.finish()
            reportCommitted()
            try? store.finishRun(lease, status: .failed, reason: "\(error)")
            throw error
        }
        if keeper.isLost { return .leaseLost(runID: runID, lastEpoch: lastEpoch) }
        do {
            switch outcome {
            case .completed where epochs.upperBound < trainer.hyperparameters.epochs:
                try store.finishRun(lease, status: .interrupted)
                return .paused(runID: runID, epoch: epochs.upperBound)
            case .completed:
                try store.finishRun(lease, status: .completed)
                return .completed(runID: runID)
            case .stoppedEarly(let epoch, let best):
                try store.finishRun(lease, status: .completed)
                let delta = trainer.hyperparameters.minDelta
                events.note(
                    "Run \(runID) stopped early after epoch \(epoch): validation loss has not improved\(delta > 0 ? " by more than \(delta)" : "") for \(epoch - best) epochs since epoch \(best).")
                return .completed(runID: runID)
            case .interrupted:
                try store.finishRun(lease, status: .interrupted)
                return .interrupted(runID: runID, lastEpoch: lastEpoch)
            case .diverged(_, let reason):
                try store.finishRun(lease, status: .failed, reason: reason)
                return .failed(runID: runID, reason: reason, lastEpoch: lastEpoch)
            }
        } catch let error as StoreError where error.kind == .leaseLost(runID: runID) {
            return .leaseLost(runID: runID, lastEpoch: lastEpoch)
        }
    }

    /// The last epoch of the run actually committed, after a commit may have been refused.
    private func committed(_ reported: Int?, _ runID: Int64) -> Int? {
        (try? store.summary(runID: runID))?.lastEpoch ?? reported
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
            throw TrainingError.unknownArchitecture(
                runID: run.id, hidden: run.hidden, activation: run.activation, loss: run.loss)
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
            throw TrainingError.unknownSchedule(runID: run.id, schedule: run.lrSchedule)
        }
        lrSchedule = schedule
        minLearningRate = run.minLearningRate
        weightDecay = run.weightDecay
        patience = run.patience
        minDelta = run.minDelta
    }
}

/// `path` made absolute against the current directory, so a run records where its data is.
func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
