/// The rules for a lost PostgreSQL connection, as values: the engine reports what happened
/// and does what the answer says, so the rules are tested without a socket or a clock
/// (`ConnectionRecoveryTests`), and the server tests prove the engine follows them.
///
/// - A statement the server refused fails as it is; nothing is retried, but for a deadlock's
///   victim or a serialization failure (`PostgresEngine.rerunStates`), run again whole.
/// - A connection lost before COMMIT was sent: the server rolls the transaction back, so the
///   engine connects again and runs the whole transaction again (its body only touches the
///   database through the session, so a rerun starts from what is committed).
/// - A connection lost during COMMIT: the transaction may or may not be applied. Never
///   retried; it fails saying so.
/// - Connecting again is tried with growing pauses for `window` seconds from the start of the
///   outage, not of each transaction: a trainer whose epoch write gave up does not wait
///   another window to mark its run, nor its lease-renewal thread a third. Once an outage
///   outlasted the window, each later transaction tries to connect once and fails at once
///   until the server answers again.
/// - A failure that stays (a wrong password, a dropped database, a failed certificate check)
///   is not waited on.
/// - The first retry of an outage is announced, so that a person sees why nothing moves.
struct ConnectionRecovery: Sendable, Equatable {
    /// How long an outage is waited out, in seconds.
    let window: Double
    /// When the current outage began (seconds on the caller's clock); nil while connected.
    private(set) var outageStarted: Double?
    /// The current outage outlasted the window.
    private(set) var gaveUp = false
    private var announced = false
    private var pause: Double

    static let firstPause = Timeouts.reconnectFirstPause
    static let longestPause = Timeouts.reconnectLongestPause

    init(window: Double) {
        self.window = window
        self.pause = Self.firstPause
    }

    /// Where in a transaction a statement failed.
    enum Stage: Sendable, Equatable {
        /// BEGIN or a statement of the body: nothing of it can have been committed.
        case beforeCommit
        /// The COMMIT itself.
        case commit
    }

    enum Action: Sendable, Equatable {
        /// Fail with the error as it is.
        case fail
        /// Drop the connection and run the whole transaction again on a new one.
        case retryTransaction
        /// Connect again after `pause` seconds; `announce` the first time in an outage.
        case reconnect(after: Double, announce: Bool)
        /// The server stays away (or turned us away for good): fail as a lost connection.
        case giveUp
        /// Lost during COMMIT: fail saying the outcome is unknown.
        case outcomeUnknown
    }

    /// A statement failed at `now`; `lost` when the connection went with it.
    mutating func statementFailed(lost: Bool, stage: Stage, at now: Double) -> Action {
        guard lost else { return .fail }
        if outageStarted == nil { beginOutage(at: now) }
        switch stage {
        case .commit: return .outcomeUnknown
        case .beforeCommit: return .retryTransaction
        }
    }

    /// Connecting failed at `now`; `passing` when trying again may succeed.
    mutating func connectFailed(passing: Bool, at now: Double) -> Action {
        if outageStarted == nil { beginOutage(at: now) }
        guard passing, !gaveUp, let started = outageStarted, now + pause < started + window
        else {
            gaveUp = true
            return .giveUp
        }
        let action = Action.reconnect(after: pause, announce: !announced)
        announced = true
        pause = min(pause * 2, Self.longestPause)
        return action
    }

    /// A connection was made: the outage, if any, is over.
    mutating func connected() {
        outageStarted = nil
        gaveUp = false
        announced = false
        pause = Self.firstPause
    }

    private mutating func beginOutage(at now: Double) {
        outageStarted = now
        gaveUp = false
        announced = false
        pause = Self.firstPause
    }
}
