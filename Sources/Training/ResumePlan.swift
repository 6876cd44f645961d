import Store

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

extension Hyperparameters {
    /// These settings with `changes` applied: what a resume asks to train with.
    public func applying(_ changes: ResumeChanges) throws -> Hyperparameters {
        var h = self
        h.learningRate = changes.learningRate ?? learningRate
        h.batchSize = changes.batchSize ?? batchSize
        h.momentum = changes.momentum ?? momentum
        h.epochs = changes.epochs ?? epochs
        h.weightDecay = changes.weightDecay ?? weightDecay
        h.lrSchedule = changes.lrSchedule ?? lrSchedule
        h.minLearningRate = changes.minLearningRate ?? minLearningRate
        if let patience = changes.patience { h.patience = patience > 0 ? patience : nil }
        h.minDelta = changes.minDelta ?? minDelta
        try h.requireScheduleFloorBelowRate()
        return h
    }

    /// Whether training with these settings continues a run recorded with `recorded` epoch
    /// for epoch: the same SGD settings, schedule, decay and early stopping.
    func continues(_ recorded: Hyperparameters) -> Bool {
        learningRate == recorded.learningRate && batchSize == recorded.batchSize
            && momentum == recorded.momentum && sameControls(as: recorded)
    }
}

/// What resuming a run does: the resume policy as a pure value, decided from the run's row,
/// its recorded epochs and what was asked, before anything is loaded or written.
///
/// The rules, in order:
/// - A run with no recorded epoch restarts in place from where it began (its parent's
///   checkpoint, or the seed's initial weights), with the asked settings written to its row:
///   nothing was computed with the old ones. `--from` other than `last` is refused.
/// - A run that early stopping ended, resumed with its own settings, has nothing to do: its
///   patience would stop it again at once.
/// - With the run's own settings (learning rate, batch size, momentum, schedule, weight decay,
///   early stopping; for cosine, also the planned epochs) and no new name, epochs
///   already recorded would only be recomputed bit for bit. So: past the last recorded epoch,
///   the run continues in place after it, whatever `--from` said; up to it, nothing is done,
///   unless a different checkpoint retention asks for the recomputed epochs' checkpoints,
///   which forks.
/// - Otherwise (a changed setting or a name) a new run is forked from the chosen epoch: by
///   default the best of a completed run, else the last.
public enum ResumePlan: Equatable, Sendable {
    /// Train the run itself after epoch `after` (0, or the parent's epoch, when it recorded
    /// none) through epoch `through`.
    case inPlace(after: Int, through: Int)
    /// Fork a child from the run's checkpoint at `from`, training through epoch `through`.
    case fork(from: Int, through: Int)
    /// Every epoch asked for is recorded already with these settings, or the run stopped
    /// early and its patience would stop it again at once.
    case nothingToDo(lastEpoch: Int, through: Int, stoppedEarly: Bool)

    /// The run's recorded facts that the policy needs.
    public struct Facts: Equatable, Sendable {
        public var run: Run
        public var lastEpoch: Int?
        public var bestEpoch: Int?
        /// The epoch early stopping ended the run at, if it did.
        public var stoppedEarlyAt: Int?

        public init(run: Run, lastEpoch: Int?, bestEpoch: Int?, stoppedEarlyAt: Int? = nil) {
            self.run = run
            self.lastEpoch = lastEpoch
            self.bestEpoch = bestEpoch
            self.stoppedEarlyAt = stoppedEarlyAt
        }
    }

    public static func decide(
        _ facts: Facts, from point: ResumePoint?, changes: ResumeChanges
    ) throws -> ResumePlan {
        let run = facts.run
        let recorded = try Hyperparameters(run)
        let requested = try recorded.applying(changes)
        let through = requested.epochs

        guard let last = facts.lastEpoch, let best = facts.bestEpoch else {
            guard point == nil || point == .last else {
                throw TrainingError.noRecordedEpoch(runID: run.id)
            }
            let start = run.parentEpoch ?? 0
            guard through > start else {
                throw TrainingError.nothingAfter(runID: run.id, epoch: start, planned: through)
            }
            return .inPlace(after: start, through: through)
        }

        let from: Int
        switch point ?? (run.status == .completed ? .best : .last) {
        case .best: from = best
        case .last: from = last
        case .epoch(let n):
            guard n <= last else {
                throw TrainingError.noSuchEpoch(runID: run.id, epoch: n, lastEpoch: last)
            }
            from = n
        }

        let sameSettings = requested.continues(recorded) && changes.name == nil
        if sameSettings {
            // Its patience, met at the stop, would end it again before a single epoch.
            if facts.stoppedEarlyAt != nil {
                return .nothingToDo(lastEpoch: last, through: last, stoppedEarly: true)
            }
            if through > last { return .inPlace(after: last, through: through) }
            let retentionChanged = (changes.keepEvery ?? run.keepEvery) != run.keepEvery
            if retentionChanged && from < through { return .fork(from: from, through: through) }
            return .nothingToDo(lastEpoch: last, through: through, stoppedEarly: false)
        }
        guard through > from else {
            throw TrainingError.nothingAfter(runID: run.id, epoch: from, planned: through)
        }
        return .fork(from: from, through: through)
    }
}
