/// Where a claimed trial of an ASHA sweep trains to: the rung after the last one it reached
/// (rung 0 for a new trial), whether it was just promoted, taken over or retried.
import Store
import Training

public struct RungTarget: Equatable, Sendable {
    public var rung: Int
    /// The rung's epoch.
    public var epoch: Int
    /// The last rung: the trial completes there.
    public var isLast: Bool

    public init(_ trial: TrialRecord, _ ladder: RungLadder) {
        rung = min((trial.rung ?? -1) + 1, ladder.top)
        epoch = ladder.epochs[rung]
        isLast = rung == ladder.top
    }

    /// The epoch the session stops after: the rung's, unless it is the last.
    public var pauseAfter: Int? { isLast ? nil : epoch }

    /// Whether the session's end reached this rung: paused at its epoch, or, at the last, all
    /// the epochs trained (not stopped early by patience, which then wins: the trial simply
    /// completes). `store` tells how far a completed run got.
    public func isReached(by result: SessionResult, _ store: Store) throws -> Bool {
        switch result {
        case .paused(_, let stoppedAfter):
            return stoppedAfter == epoch
        case .completed(let runID):
            guard isLast else { return false }
            return try store.summary(runID: runID)?.lastEpoch == epoch
        case .nothingToDo(_, let lastEpoch, _, let stoppedEarly):
            return isLast && !stoppedEarly && lastEpoch == epoch
        case .interrupted, .failed, .leaseLost:
            return false
        }
    }
}
