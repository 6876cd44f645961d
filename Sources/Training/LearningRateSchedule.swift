#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// One recorded epoch as the learning-rate schedule and early stopping read it: its number and
/// validation loss. A run's history is every epoch of its lineage (a fork's parent's epochs up
/// to the fork point, then its own), in ascending order.
public struct RecordedEpoch: Equatable, Sendable {
    public var epoch: Int
    public var valLoss: Double

    public init(epoch: Int, valLoss: Double) {
        self.epoch = epoch
        self.valLoss = valLoss
    }
}

/// THE best-epoch rule as training reads it: an epoch is a new best when its validation loss
/// is lower than the best before it by more than `minDelta` (the first epoch always is), so
/// ties keep the earlier epoch. With `minDelta` 0 it is the rule of `run_stats.best_epoch`
/// (the triggers of Migrations/0005 and 0010, which `run_summary`, `best` and checkpoint
/// retention read); the plateau schedule and early stopping both walk a history through it.
struct BestSoFar {
    var minDelta = 0.0
    private(set) var valLoss = Double.infinity
    private(set) var epoch: Int?

    /// Takes the next epoch of a history; true when it is the new best.
    mutating func observe(_ recorded: RecordedEpoch) -> Bool {
        guard epoch == nil || recorded.valLoss < valLoss - minDelta else { return false }
        valLoss = recorded.valLoss
        epoch = recorded.epoch
        return true
    }
}

/// The learning rate in effect for each epoch: a pure function of the run's settings and the
/// epochs recorded before it, so that a resumed run continues with exactly the rate (and the
/// plateau counter) an uninterrupted one would have had. Nothing is kept between epochs.
public struct LearningRateSchedule: Equatable, Sendable {
    /// How the rate moves; `runs.lr_schedule` stores `description`.
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        /// The initial rate throughout.
        case constant
        /// The rate times `factor` after every `every` epochs: epochs 1...every at the initial
        /// rate, every+1...2·every at rate·factor, and so on.
        case step(every: Int, factor: Double)
        /// Half a cosine from the initial rate down towards the minimum over the planned
        /// epochs: epoch e gets min + (initial − min)·(1 + cos(π(e − 1)/E))/2.
        case cosine
        /// The rate times `factor` whenever validation loss has not improved (strictly) for
        /// `patience` epochs in a row; the count restarts after each reduction.
        case plateau(patience: Int, factor: Double)

        /// "constant", "step:100:0.5", "cosine" or "plateau:10:0.5": what `parse` reads.
        public var description: String {
            switch self {
            case .constant: "constant"
            case .step(let every, let factor): "step:\(every):\(factor)"
            case .cosine: "cosine"
            case .plateau(let patience, let factor): "plateau:\(patience):\(factor)"
            }
        }

        /// Why a schedule's text cannot be used; the CLI words each case.
        public enum ParseError: Error, Equatable, Sendable {
            /// Not one of constant, step:EVERY:FACTOR, cosine, plateau:PATIENCE:FACTOR.
            case unknown(String)
            /// EVERY or PATIENCE is not an integer of at least 1.
            case period(String)
            /// FACTOR is not a number in (0, 1).
            case factor(String)
        }

        /// Reads `description`'s forms; the factor must be in (0, 1) and the period at least 1.
        public static func parse(_ text: String) throws(ParseError) -> Kind {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map {
                String($0)
            }
            switch (parts.first ?? "", parts.count) {
            case ("constant", 1): return .constant
            case ("cosine", 1): return .cosine
            case ("step", 3), ("plateau", 3):
                guard let period = Int(parts[1]), period >= 1 else { throw .period(parts[1]) }
                // 1e-50 is positive as a Double but would make a rate of 0 in Float32.
                guard let factor = Double(parts[2]), factor > 0, factor < 1,
                    Float(factor) > 0
                else { throw .factor(parts[2]) }
                return parts[0] == "step"
                    ? .step(every: period, factor: factor)
                    : .plateau(patience: period, factor: factor)
            default: throw .unknown(text)
            }
        }
    }

    public var kind: Kind
    /// The rate of epoch 1 (`runs.learning_rate`).
    public var initial: Double
    /// A floor for step and plateau, the end point of cosine (`runs.min_learning_rate`).
    public var minimum: Double
    /// The run's planned last epoch, over which cosine runs.
    public var plannedEpochs: Int

    public init(kind: Kind, initial: Double, minimum: Double = 0, plannedEpochs: Int) {
        self.kind = kind
        self.initial = initial
        self.minimum = minimum
        self.plannedEpochs = plannedEpochs
    }

    /// Whether the rate of an epoch depends on the planned last epoch, so that changing it
    /// changes the rates of epochs still to come (a resume with a new --epochs then forks).
    public var dependsOnPlannedEpochs: Bool { kind == .cosine }

    /// The rate in effect during `epoch` (1-based), given the epochs recorded before it (only
    /// those with a smaller number are read).
    public func learningRate(epoch: Int, history: [RecordedEpoch]) -> Double {
        switch kind {
        case .constant:
            return initial
        case .step(let every, let factor):
            // Repeated products rather than pow, so the value is the same on every libm.
            var rate = initial
            for _ in 0..<max(0, (epoch - 1) / every) {
                rate *= factor
                if rate <= minimum { return minimum }
            }
            return rate
        case .cosine:
            guard plannedEpochs > 0 else { return initial }
            let t = Double(min(max(epoch - 1, 0), plannedEpochs)) / Double(plannedEpochs)
            return minimum + (initial - minimum) * (1 + cos(Double.pi * t)) / 2
        case .plateau(let patience, let factor):
            var rate = initial
            var best = BestSoFar()
            var waited = 0
            for recorded in history where recorded.epoch < epoch {
                if best.observe(recorded) {
                    waited = 0
                } else {
                    waited += 1
                    if waited >= patience {
                        rate = max(rate * factor, minimum)
                        waited = 0
                    }
                }
            }
            return rate
        }
    }
}

/// Stop a run once validation loss has not improved by more than `minDelta` for `patience`
/// epochs: it stops exactly `patience` epochs after its best. Like the schedule, a pure
/// function of the recorded epochs, so a resumed run stops where an uninterrupted one would.
public struct EarlyStopping: Equatable, Sendable {
    public var patience: Int
    public var minDelta: Double

    public init(patience: Int, minDelta: Double = 0) {
        self.patience = patience
        self.minDelta = minDelta
    }

    /// The last epoch whose validation loss was lower than the best before it by more than
    /// `minDelta` (the first epoch always counts). With `minDelta` 0 this is the lowest
    /// validation loss, earliest on ties: `run_summary.best_epoch`.
    public func bestEpoch(in history: [RecordedEpoch]) -> Int? {
        var best = BestSoFar(minDelta: minDelta)
        for recorded in history { _ = best.observe(recorded) }
        return best.epoch
    }

    /// Whether training should stop after the last epoch of `history`.
    public func shouldStop(after history: [RecordedEpoch]) -> Bool {
        guard let last = history.last?.epoch, let best = bestEpoch(in: history) else {
            return false
        }
        return last - best >= patience
    }
}
