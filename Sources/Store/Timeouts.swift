/// Every duration mnistlab waits, holds or polls for, in one place: the stores' timeouts, the
/// lease and the rules derived from it, the training progress line, and the dashboard's
/// bounds and paces. Code, help texts and error messages read them from here.
///
/// It lives in Store, the lowest module that needs one (the busy timeout, PostgreSQL's
/// timeouts, the lease); Training, Sweeps, Server and the CLI depend on Store, so every
/// module reaches it and dependencies keep pointing one way.
///
/// Store and lease durations are seconds as `Double` (what GRDB, libpq's settings and the
/// lease SQL take); the dashboard's are `Duration` (what its socket code takes).
public enum Timeouts {
    // MARK: - Stores

    /// Seconds an SQLite connection waits for another process's write lock (a run recording
    /// an epoch) before failing with "database is locked".
    public static let sqliteBusy: Double = 30

    /// Seconds a statement a user writes at the terminal (`mnistlab sql`, `runs --where`) may
    /// run, and on PostgreSQL wait for a lock, on either engine (`StatementLimits.terminal`).
    public static let sqlStatement: Double = 30

    /// Seconds `db vacuum` waits for the lock on one of a PostgreSQL store's tables before
    /// giving up: while it waits behind another session, every reader and writer of that
    /// table waits behind it.
    public static let vacuumLockWait: Double = 10

    /// Seconds a connection attempt waits for one PostgreSQL host before the next (or
    /// failing), unless the URL, PGCONNECT_TIMEOUT or a service file says otherwise: a host
    /// that is down fails in that time rather than the kernel's two minutes of TCP retries.
    public static let postgresConnect = 5

    /// Seconds a PostgreSQL store waits out a lost connection, from the start of the outage
    /// (a server restarting), before a command fails.
    public static let reconnectWindow: Double = 30

    /// Seconds before the first attempt to connect again after a connection is lost; each
    /// next attempt waits twice as long, up to `reconnectLongestPause`.
    public static let reconnectFirstPause: Double = 0.05
    /// The longest pause between two attempts to connect again.
    public static let reconnectLongestPause: Double = 2

    /// Seconds a PostgreSQL session may sit inside a transaction without sending anything
    /// before the server ends it, so that a stopped process can't hold its locks for ever.
    public static let idleInTransaction: Double = 60

    // MARK: - Leases

    /// Seconds a run or trial stays held by its process without a sign of life (`Lease`).
    public static let lease: Double = 30

    /// The lease lengths accepted from `--lease-seconds` or `MNISTLAB_LEASE_SECONDS`: from a
    /// tenth of a second (tests) to a day.
    public static let leaseRange: ClosedRange<Double> = 0.1...86_400

    /// How many renewals fit in one lease. Three: a holder may miss two renewals in a row (a
    /// busy database, a paused machine) and still hold its run.
    public static let renewalsPerLease: Double = 3

    /// How often a holder renews a lease of `lease` seconds between its epoch commits.
    public static func renewal(lease: Double) -> Double { lease / renewalsPerLease }

    /// The longest a worker with nothing to claim waits before looking again.
    public static let workerPollCeiling: Double = 1

    /// How long a worker with nothing to claim waits before looking again, for leases of
    /// `lease` seconds: the renewal period, so that a trial whose worker died is taken over
    /// within a third of a lease after it expires, and at most `workerPollCeiling`, so that a
    /// new sweep's trials start within a second. One rule, the renewal's, for both.
    public static func workerPoll(lease: Double) -> Double {
        min(workerPollCeiling, renewal(lease: lease))
    }

    /// How often a waiting worker looks whether it was asked to stop (Ctrl-C, SIGTERM).
    public static let stopCheck: Double = 0.02

    /// Seconds between two looks at a sweep's trials while its local workers train.
    public static let sweepReport: Double = 0.1

    /// `seconds` as help texts and messages write it: "30", "0.1", "86400".
    public static func text(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15
            ? String(Int64(seconds)) : String(seconds)
    }

    /// `leaseRange` as help texts and messages write it: "from 0.1 to 86400".
    public static var leaseRangeText: String {
        "from \(text(leaseRange.lowerBound)) to \(text(leaseRange.upperBound))"
    }

    // MARK: - Training

    /// Seconds between two progress reports within an epoch (the live line): often enough
    /// for a live line, rare enough to cost nothing (one clock read per batch).
    public static let progress: Double = 0.1

    // MARK: - Dashboard

    /// A request's head (and body) must arrive within this of its first byte.
    public static let requestHead: Duration = .seconds(10)
    /// A kept-alive connection waits this long for its next request, then closes.
    public static let idleConnection: Duration = .seconds(5)
    /// A write the client does not take within this ends the connection.
    public static let write: Duration = .seconds(10)
    /// How long a refused request's remaining bytes are read and dropped before closing.
    public static let refusalDrain: Duration = .seconds(1)
    /// The pause before accepting again when the process is out of descriptors or memory.
    public static let acceptRetry: Duration = .milliseconds(50)
    /// Seconds a search a client of the dashboard writes (`/api/runs?where=`) may run: any web
    /// page can send one.
    public static let dashboardSearch: Double = 2
    /// How often the dashboard looks for store changes (one look for all event streams).
    public static let changePoll: Duration = .milliseconds(50)
    /// An event stream looks at least this often whether its client has gone, and a live
    /// feed reads at least this often.
    public static let streamCheck: Duration = .seconds(1)
    /// A settled feed (a finished run) reads a change at most this often.
    public static let settledStream: Duration = .seconds(5)
    /// How long a browser waits before opening a closed event stream again (SSE's `retry`).
    public static let streamRetry: Duration = .seconds(1)
    /// A quiet event stream sends a comment line after this long, so proxies keep it open.
    public static let streamKeepAlive: Duration = .seconds(15)
}

extension Duration {
    /// The duration in seconds, as `Thread.sleep` and `Date` take it.
    public var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
