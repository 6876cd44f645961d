/// The bounds on a statement a user wrote (`mnistlab sql`, `runs --where`, the dashboard's
/// `/api/runs?where=`), on either engine.
public struct StatementLimits: Sendable, Equatable {
    /// Seconds it may run before it is stopped (`.queryTooLong`).
    public var seconds: Double
    /// The longest string or blob it may make or read, in bytes; nil for the engine's own.
    /// Only SQLite works out values in this process (SQLITE_LIMIT_LENGTH, 1e9 by default);
    /// PostgreSQL works them out on the server, whose own limits apply.
    public var valueBytes: Int?

    public init(seconds: Double, valueBytes: Int? = nil) {
        self.seconds = seconds
        self.valueBytes = valueBytes
    }

    /// A user at the terminal: `Timeouts.sqlStatement`, and values as large as a checkpoint.
    public static let terminal = StatementLimits(seconds: Timeouts.sqlStatement)

    /// The statement stopped at its time limit, in the same words on both engines.
    var tooLong: StoreError {
        StoreError(
            .queryTooLong(seconds: seconds),
            "the statement ran for more than \(Timeouts.text(seconds)) s and was stopped.")
    }
}
