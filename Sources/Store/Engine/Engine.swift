/// The seam between the store's logic and the database it runs on. The logic (Writes,
/// Ownership, Queries, Results, Trials, RunManagement) is written once, in SQL that SQLite
/// and PostgreSQL both read; an engine opens its kind of database, migrates it, runs those
/// statements in transactions and keeps everything dialect-specific to itself: placeholders,
/// the clock, locking, `sql`'s read-only guard, vacuuming.
///
/// Statements the logic hands an engine use `?` (positional, in order) or `?N` (the N-th
/// argument, from 1) placeholders and never both in one statement; no placeholder appears
/// inside a string literal. Every value is bound.

/// One connection inside `Engine.read` or `Engine.write`: valid only within that call.
protocol SQLConnection {
    /// Runs one statement; returns how many rows it inserted, updated or deleted.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int

    /// Runs one statement and returns every row it produced.
    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLConnection {
    @discardableResult
    func execute(_ sql: String) throws -> Int { try execute(sql, []) }
    func fetch(_ sql: String) throws -> [SQLRow] { try fetch(sql, []) }

    /// The first row, nil when there is none.
    func fetchOne(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
        try fetch(sql, arguments).first
    }
}

/// What differs in the SQL text itself between the engines, as fragments the logic splices
/// into its statements.
struct Dialect: Sendable {
    /// The database's clock now, as ISO-8601 UTC text with milliseconds
    /// ('2026-11-25T08:22:13.123Z'), the format of every timestamp column.
    let now: String
    /// The database's clock `seconds` from now, in the same format.
    let expiry: @Sendable (_ seconds: Double) -> String
    /// Appended to the SELECT that picks a trial to claim: PostgreSQL's
    /// `FOR UPDATE SKIP LOCKED`, so racing workers each get a different trial without
    /// waiting; empty for SQLite, whose write transaction already excludes other writers.
    let skipLocked: String
}

/// A database the store runs on. Implementations are SQLiteEngine and PostgresEngine.
protocol Engine: Sendable {
    /// What error messages name: the file path, or the URL without its password.
    var location: String { get }
    /// Opened read-only: every `write` fails, nothing was created or migrated.
    var isReadOnly: Bool { get }
    var dialect: Dialect { get }

    /// Runs `body` on a connection that sees one consistent state of the database.
    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T

    /// Runs `body` in one write transaction: committed when it returns, rolled back when it
    /// throws. Writers are serialized as far as the logic's invariants need: on SQLite the
    /// transaction holds the write lock from its start (`BEGIN IMMEDIATE`); on PostgreSQL,
    /// `lock(_:)` below serializes what would otherwise race.
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T

    /// Inside `write`: holds `resource` (e.g. "runs", to choose the next id as max + 1) until
    /// the transaction ends, so that two processes never do the same step at once.
    func lock(_ resource: String, _ connection: any SQLConnection) throws

    /// Runs one statement that must only read (`mnistlab sql`), refused with `.notReadOnly`
    /// before it can change anything, on this engine's own guard, within `limits`.
    func query(_ sql: String, limits: StatementLimits) throws -> QueryResult

    /// The migrations recorded in `schema_migrations`, ascending.
    func appliedMigrations() throws -> [AppliedMigration]
    /// The highest migration this build knows for this engine.
    var knownSchemaVersion: Int { get }

    /// The space the database takes: the file and its write-ahead log, or the database on
    /// the server.
    func sizeBytes() throws -> Int64

    /// Gives the space of deleted rows back (the caller has checked that no run is live).
    func vacuum() throws

    /// Makes the space of the rows just deleted from `table` reusable by the next inserts,
    /// where the engine does not on its own: PostgreSQL keeps a deleted row's space until a
    /// VACUUM has seen it (autovacuum comes a minute later at the soonest), so a run that
    /// drops a 318 KB checkpoint each epoch grew the store by one checkpoint per epoch.
    /// SQLite reuses freed pages as soon as the transaction commits: nothing to do.
    func reclaim(_ table: String) throws

    /// Closes the connection now rather than when the last reference goes.
    func close() throws
}

extension SQLConnection {
    /// The first column of the first row, nil when there is no row (or it holds NULL).
    func scalar<T: SQLDecodable>(
        _ sql: String, _ arguments: [SQLValue] = [], as type: T.Type = T.self
    ) throws -> T? {
        guard let row = try fetchOne(sql, arguments), let first = row.columns.names.first else {
            return nil
        }
        return try row.get(first) as T?
    }

    /// Whether the query returns a row.
    func exists(_ sql: String, _ arguments: [SQLValue] = []) throws -> Bool {
        try !fetch(sql, arguments).isEmpty
    }
}
