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

    /// A user at the terminal: 30 s, and values as large as a checkpoint.
    public static let terminal = StatementLimits(seconds: 30)

    /// The statement stopped at its time limit, in the same words on both engines.
    var tooLong: StoreError {
        let seconds = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        return StoreError(
            .queryTooLong(seconds: self.seconds),
            "the statement ran for more than \(seconds) s and was stopped.")
    }
}
