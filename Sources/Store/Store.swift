/// `Store`: the one owner of an mnistlab database, on SQLite or PostgreSQL. Every write goes
/// through one of its methods, each one transaction that keeps an invariant (Writes.swift,
/// Ownership.swift, Results.swift, Trials.swift, RunManagement.swift); reads are named
/// queries (Queries.swift). The logic is written once; the engine behind it (SQLite/,
/// PostgreSQL/) opens, migrates and runs it in its dialect.
import Foundation
import Synchronization

/// An mnistlab database. It can be shared between threads: each engine serializes the use
/// of its connection.
public final class Store: Sendable {
    let engine: any Engine

    /// What messages name: the file path, or the PostgreSQL URL without its password.
    public var location: String { engine.location }
    /// True when opened with `readOnly: true`: every write method then fails.
    public var isReadOnly: Bool { engine.isReadOnly }
    /// True for a store on a PostgreSQL server, false for an SQLite file.
    public var isServer: Bool { !(engine is SQLiteEngine) }

    var dialect: Dialect { engine.dialect }

    /// Checkpoints this process's epoch commits deleted since the space was last reclaimed
    /// (`reclaimCheckpointSpace(afterDropping:)`).
    let checkpointsDroppedSinceReclaim = Mutex(0)

    init(engine: any Engine) {
        self.engine = engine
    }

    /// Whether `location` names a PostgreSQL database (a `postgres://` or `postgresql://`
    /// URL) rather than an SQLite file.
    public static func isURL(_ location: String) -> Bool { PostgresLocation.isURL(location) }

    /// `location` as messages and pages show it: a URL without its password.
    public static func shown(_ location: String) -> String {
        isURL(location) ? PostgresLocation.redacted(location) : location
    }

    /// Opens the database at `location`: a `postgres://` or `postgresql://` URL, else the path
    /// of an SQLite file (see `open(path:)`). Read-write creates and migrates what is missing;
    /// read-only writes nothing and needs the database at this build's schema (an older one
    /// only with `allowOlderSchema`, which only `status` can read).
    ///
    /// On PostgreSQL, a connection lost later is made again for up to `reconnectWindow`
    /// seconds from the start of the outage (a server restarting); 0 tries once, for a
    /// caller that would rather answer at once (the dashboard).
    public static func open(
        location: String, readOnly: Bool = false, allowOlderSchema: Bool = false,
        reconnectWindow: Double = Timeouts.reconnectWindow
    ) throws -> Store {
        guard PostgresLocation.isURL(location) else {
            return try open(path: location, readOnly: readOnly, allowOlderSchema: allowOlderSchema)
        }
        return try attempt("Cannot open database at \(shown(location))") {
            Store(
                engine: try PostgresEngine.open(
                    url: location, readOnly: readOnly, allowOlderSchema: allowOlderSchema,
                    reconnectWindow: reconnectWindow))
        }
    }

    /// Calls `handler` (on the thread that noticed) when a PostgreSQL store starts waiting
    /// out a lost connection, once per outage, with the window in seconds; never on SQLite.
    public func onReconnecting(_ handler: @escaping @Sendable (_ window: Double) -> Void) {
        (engine as? PostgresEngine)?.reconnecting.withLock { $0 = handler }
    }

    /// Opens (and, read-write, creates and migrates) the SQLite file at `path`.
    ///
    /// Read-write: a missing or empty (0-byte) file is created; an older schema is migrated.
    /// Read-only: nothing is ever written, created or migrated. A file the user may only read
    /// works (see `SQLiteEngine.readOnlyLocation`).
    ///
    /// Refuses, leaving the file byte-identical, when the path is empty or a directory, the
    /// file is not SQLite, is SQLite of another application, was written by a newer mnistlab,
    /// or (read-write) when the file or its directory is not writable.
    public static func open(
        path: String, readOnly: Bool = false, allowOlderSchema: Bool = false
    ) throws -> Store {
        try attempt("Cannot open database at \(path.isEmpty ? "''" : path)") {
            Store(
                engine: try SQLiteEngine.open(
                    path: path, readOnly: readOnly, allowOlderSchema: allowOlderSchema))
        }
    }

    /// Closes the connection now rather than whenever the last reference goes; call it
    /// before the process exits (SQLite then folds its write-ahead log into the file).
    public func close() throws {
        try attempt("Cannot close database at \(location)") { try engine.close() }
    }

    // MARK: - Running the logic

    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try engine.read(body)
    }

    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        guard !isReadOnly else {
            throw StoreError(.notWritable, "the database was opened read-only.")
        }
        return try WriteGate.shared.passing { try engine.write(body) }
    }
}
