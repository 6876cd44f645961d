/// A trial's states and what a worker does when its hold on one ends, as values: the worker
/// loop asks `TrialStateMachine.decide` and carries the decision out, so every rule here is
/// tested without a store or a process (like postgres-nio's `ConnectionStateMachine`).
///
///     pending ──claim──▶ running ──completed──▶ completed
///        ▲                  │ ──diverged or out of attempts──▶ failed
///        └── given back ────┘ (Ctrl-C, or an error with attempts left)
///
/// A running trial whose worker died is claimed again by the next worker (a takeover: one
/// more attempt, the same run resumed); that rule is the store's, since it needs the clock
/// of the database (`Store.claimTrial`).
import Store
import Training

/// How many claims a trial gets before a failure is final.
public struct RetryPolicy: Sendable, Equatable {
    /// Claims of one trial, takeovers included, before a failure is final.
    public var maxAttempts: Int

    public static let standard = RetryPolicy(maxAttempts: 3)

    public init(maxAttempts: Int) { self.maxAttempts = maxAttempts }

    /// Whether a trial that failed on its `attempts`-th claim is tried again.
    public func retries(afterAttempt attempts: Int) -> Bool { attempts < maxAttempts }
}

/// How a worker's hold on a trial ended.
public enum TrialEnd: Equatable, Sendable {
    /// The session ended as its result says.
    case session(SessionResult)
    /// Training threw before or while it ran (data not found, a store error, …): `reason`
    /// as the failure_reason column keeps it.
    case error(reason: String)
    /// Another worker holds the trial or its run now: this one may write nothing more.
    case lostHold
}

/// What the worker does about a trial whose hold ended.
public struct TrialDecision: Equatable, Sendable {
    /// The status to settle the trial with (`finishTrial`), or nil to write nothing.
    public var status: TrialRecord.Status?
    public var reason: String?
    /// Whether the worker stops looking for work (a stop signal ended the session).
    public var stopsWorker: Bool

    public init(status: TrialRecord.Status?, reason: String? = nil, stopsWorker: Bool = false) {
        self.status = status
        self.reason = reason
        self.stopsWorker = stopsWorker
    }

    /// A failed trial given back for another attempt.
    public var isRetry: Bool { status == .pending && reason != nil }
}

public enum TrialStateMachine {
    /// The decision for a trial held on its `attempts`-th claim that ended with `end`.
    public static func decide(
        _ end: TrialEnd, attempts: Int, policy: RetryPolicy = .standard
    ) -> TrialDecision {
        switch end {
        case .session(.completed), .session(.nothingToDo):
            return TrialDecision(status: .completed)
        case .session(.failed(_, let reason, _)):
            // Divergence is deterministic: a retry would diverge again.
            return TrialDecision(status: .failed, reason: reason)
        case .session(.interrupted):
            // Given back at once: the next worker continues the same run without waiting.
            return TrialDecision(status: .pending, stopsWorker: true)
        case .session(.leaseLost), .lostHold:
            return TrialDecision(status: nil)
        case .session(.paused):
            // Stopped short of its end at no rung of its sweep (a rung reached is settled by
            // `Store.reachRung` instead): given back, to continue from there.
            return TrialDecision(status: .pending)
        case .error(let reason):
            return TrialDecision(
                status: policy.retries(afterAttempt: attempts) ? .pending : .failed,
                reason: reason)
        }
    }
}
