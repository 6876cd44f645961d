/// The store on a PostgreSQL server: one connection, transactions that survive a server
/// restart, migrations applied under an advisory lock, and the server's clock.
import Foundation
import Synchronization

final class PostgresEngine: Engine, @unchecked Sendable {
    let location: String
    let isReadOnly: Bool
    let dialect = PostgresEngine.postgresDialect
    var knownSchemaVersion: Int { migrations.last?.version ?? 0 }

    private let target: PostgresLocation
    private let migrations: [Migration]
    /// What each session is told after connecting (see `open`).
    private let settings: [(String, String)]
    /// Serializes every use of `connection` and `recovery`: the store is shared by the
    /// training thread and the lease-renewal thread, and a PostgreSQL session runs one
    /// transaction at a time. Not recursive: a transaction body never opens another one.
    private let mutex = NSLock()
    /// nil before the first use after a lost connection. Guarded by `mutex`.
    private var connection: PostgresConnection?
    /// What to do about a lost connection. Guarded by `mutex`.
    private var recovery: ConnectionRecovery
    private var isClosed = false
    /// Told once per outage that the engine is reconnecting (see `Store.onReconnecting`).
    let reconnecting = Mutex<(@Sendable (_ window: Double) -> Void)?>(nil)

    /// Connects to the database at `url`. Read-write: applies the pending migrations first.
    /// Read-only: creates and migrates nothing; refuses an empty database (`.missing`) and,
    /// unless `allowOlderSchema`, one that needs migrating. A connection lost later is made
    /// again for up to `reconnectWindow` seconds.
    static func open(
        url: String, readOnly: Bool, allowOlderSchema: Bool,
        reconnectWindow: Double = Timeouts.reconnectWindow
    ) throws -> PostgresEngine {
        try open(
            url: url, readOnly: readOnly, allowOlderSchema: allowOlderSchema,
            migrations: PostgresMigrations.all, reconnectWindow: reconnectWindow)
    }

    /// `open` with another migration list, and shorter reconnect and idle windows, for tests.
    static func open(
        url: String, readOnly: Bool, allowOlderSchema: Bool, migrations: [Migration],
        reconnectWindow: Double = Timeouts.reconnectWindow,
        idleTransactionTimeout: Double = Timeouts.idleInTransaction
    ) throws -> PostgresEngine {
        let target = try PostgresLocation(url: url)
        // A process stopped inside a transaction (SIGSTOP, a suspended VM, a machine cut off
        // with its TCP connection still open) would hold its row and advisory locks, and so
        // keep others from its run, for as long as it stays stopped, whatever its lease. The
        // server ends such a session instead; the transaction is rolled back, and the process,
        // if it ever wakes, reconnects and runs the body again, which its lost lease fences.
        var settings = [
            ("idle_in_transaction_session_timeout", String(Int(idleTransactionTimeout * 1000)))
        ]
        // A read-only engine's sessions refuse writes on the server too, whatever SQL is sent.
        if readOnly { settings.append(("default_transaction_read_only", "on")) }
        let engine = PostgresEngine(
            target, readOnly: readOnly, migrations: migrations, settings: settings,
            reconnectWindow: reconnectWindow)
        try attempt("Cannot open database at \(target.redacted)") {
            do {
                engine.connection = try PostgresConnection.connect(target, settings: settings)
            } catch let failure as ConnectFailure {
                if let (problem, reason) = failure.clientCertificate {
                    throw StoreError(.clientCertificate(problem), reason)
                }
                throw StoreError(
                    failure.isTLS ? .tls : .connection, sentence(failure.message))
            }
            if readOnly {
                try engine.checkSchema(allowOlder: allowOlderSchema)
            } else {
                try engine.migrate()
            }
        }
        return engine
    }

    private init(
        _ target: PostgresLocation, readOnly: Bool, migrations: [Migration],
        settings: [(String, String)], reconnectWindow: Double
    ) {
        self.target = target
        self.location = target.redacted
        self.isReadOnly = readOnly
        self.migrations = migrations
        self.settings = settings
        self.recovery = ConnectionRecovery(window: reconnectWindow)
    }

    // MARK: - Transactions

    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        // One snapshot for the whole body, as SQLite's read transaction gives.
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try body($0) }
    }

    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        guard !isReadOnly else {
            throw StoreError(.notWritable, "the database was opened read-only.")
        }
        return try transaction("BEGIN") { try body($0) }
    }

    func lock(_ resource: String, _ connection: any SQLConnection) throws {
        try connection.execute("SELECT pg_advisory_xact_lock(?)", [.integer(Self.lockKey(resource))])
    }

    /// A stable 64-bit advisory-lock key for `resource` (FNV-1a of "mnistlab:" + name), the
    /// same in every process and build.
    static func lockKey(_ resource: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("mnistlab:" + resource).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Runs `body` between `begin` and COMMIT, ROLLBACK when it throws; a lost connection is
    /// handled as `ConnectionRecovery` decides, and a transaction the server ended to break a
    /// deadlock or refused as not serializable is run again (`rerunStates`). `commits: false`
    /// always rolls back, for `query`.
    func transaction<T>(
        _ begin: String, commits: Bool = true, _ body: (PostgresSession) throws -> T
    ) throws -> T {
        mutex.lock()
        defer { mutex.unlock() }
        var reruns = 0
        while true {
            let session = PostgresSession(try connected())
            var stage = ConnectionRecovery.Stage.beforeCommit
            do {
                try session.run(begin)
                let value = try body(session)
                guard commits else {
                    _ = try? session.run("ROLLBACK")
                    if session.lostConnection { drop() }
                    return value
                }
                // Ended before COMMIT left (a restart, the idle-transaction timeout): nothing
                // of it was applied, so it is run again below.
                guard session.connection.isOpen else { throw session.lost() }
                stage = .commit
                try session.run("COMMIT")
                return value
            } catch {
                guard session.lostConnection else {
                    // The server keeps the failed transaction open until told otherwise.
                    _ = try? session.run("ROLLBACK")
                    if session.lostConnection { drop() }
                    if let state = session.failedState, Self.rerunStates.contains(state),
                        reruns < Self.reruns
                    {
                        reruns += 1
                        continue
                    }
                    throw error
                }
                drop()
                switch recovery.statementFailed(lost: true, stage: stage, at: Self.clock()) {
                case .retryTransaction:
                    continue
                case .outcomeUnknown:
                    let reason = (error as? StoreError)?.reason.dropLast() ?? ""
                    throw StoreError(
                        .connectionLost,
                        "the connection was lost while committing, so it is not known whether "
                            + "the transaction was applied (\(reason)).")
                case .fail, .giveUp, .reconnect:
                    throw error
                }
            }
        }
    }

    /// The SQLSTATEs of a transaction the server failed for another one's sake, not for its
    /// own statements: a deadlock's victim (40P01, e.g. `rm` of a run whose stale holder
    /// commits an epoch at that moment) and a serialization failure (40001, which writes at
    /// READ COMMITTED do not raise today). The server rolled it back and the other went on,
    /// so it runs again, whole, from what is committed, as after a lost connection.
    static let rerunStates: Set<String> = ["40P01", "40001"]
    /// How many times one transaction runs again for `rerunStates`: each time, the other
    /// transaction committed first.
    static let reruns = 10

    /// The connection, made again when it was lost, as `recovery` decides: with growing
    /// pauses while the failure may be passing (a restarting server), until the outage has
    /// lasted the reconnect window; a wrong password or a dropped database fails at once.
    private func connected() throws -> PostgresConnection {
        guard !isClosed else { throw StoreError(.connection, "the database connection was closed.") }
        if let connection { return connection }
        while true {
            do {
                let connection = try PostgresConnection.connect(target, settings: settings)
                recovery.connected()
                self.connection = connection
                return connection
            } catch let failure as ConnectFailure {
                switch recovery.connectFailed(passing: failure.isPassing, at: Self.clock()) {
                case .reconnect(let pause, let announce):
                    if announce { reconnecting.withLock { $0 }?(recovery.window) }
                    Thread.sleep(forTimeInterval: pause)
                case .fail, .giveUp, .retryTransaction, .outcomeUnknown:
                    // The database was open: the server went away, or turned us away, since.
                    throw StoreError(
                        .connectionLost,
                        sentence("cannot connect again: \(failure.message)"))
                }
            }
        }
    }

    /// Seconds on a clock that only moves forward.
    private static func clock() -> Double { ProcessInfo.processInfo.systemUptime }

    private func drop() {
        connection = nil
    }

    // MARK: - Schema

    /// The migration log and what else the current schema holds, read in one snapshot.
    private struct SchemaState {
        var applied: [AppliedMigration]
        var hasOtherTables: Bool
    }

    private static func schemaState(_ db: any SQLConnection) throws -> SchemaState {
        let hasLog = try db.fetchOne(
            "SELECT to_regclass(quote_ident(current_schema()) || '.schema_migrations') IS NOT NULL AS present"
        )?["present"] == .text("true")
        guard hasLog else {
            let tables = try db.fetchOne(
                """
                SELECT count(*) AS n FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                """)
            let count: Int = try tables?.get("n") ?? 0
            return SchemaState(applied: [], hasOtherTables: count > 0)
        }
        let rows = try db.fetch(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        let applied = try rows.map { row in
            AppliedMigration(
                version: try row.get("version"), name: try row.get("name"),
                appliedAt: try row.get("applied_at"))
        }
        return SchemaState(applied: applied, hasOtherTables: true)
    }

    private func refuseForeign(_ state: SchemaState) throws {
        if state.applied.isEmpty && state.hasOtherTables {
            throw StoreError(
                .notOurDatabase, "it is a PostgreSQL database of another application (it has "
                    + "tables but no schema_migrations).")
        }
        let known = Set(migrations.map(\.version))
        if let newer = state.applied.map(\.version).filter({ !known.contains($0) }).max() {
            throw StoreError.newerSchema(version: newer, known: knownSchemaVersion)
        }
    }

    /// Applies every pending migration in one transaction, under an advisory lock that any
    /// other process opening the same database waits for; the log is read after the lock is
    /// held (READ COMMITTED: each statement sees what committed before it), so a process
    /// that waited finds the work done and applies nothing.
    private func migrate() throws {
        try transaction("BEGIN") { session in
            try lock("schema_migrations", session)
            let state = try Self.schemaState(session)
            try refuseForeign(state)
            let applied = Set(state.applied.map(\.version))
            for migration in migrations where !applied.contains(migration.version) {
                // The extended protocol runs one statement at a time, and a migration file's
                // text is run as written: no placeholders to translate.
                for statement in PostgresSQLText.statements(migration.sql) {
                    try session.run(statement)
                }
                try session.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, \(Self.now))",
                    [.integer(Int64(migration.version)), .text(migration.name)])
            }
        }
    }

    private func checkSchema(allowOlder: Bool) throws {
        let state = try read { db in try Self.schemaState(db) }
        if state.applied.isEmpty && !state.hasOtherTables {
            throw StoreError(.missing, "the database has no mnistlab schema yet, and a read-only open creates none.")
        }
        try refuseForeign(state)
        let version = state.applied.last?.version ?? 0
        if version < knownSchemaVersion && !allowOlder {
            throw StoreError.olderSchema(version: version, known: knownSchemaVersion)
        }
    }

    func appliedMigrations() throws -> [AppliedMigration] {
        try attempt("Cannot read the migrations of \(location)") {
            try read { db in try Self.schemaState(db).applied }
        }
    }

    // MARK: - Upkeep

    func sizeBytes() throws -> Int64 {
        try attempt("Cannot read the size of \(location)") {
            try read { db in
                try db.fetchOne("SELECT pg_database_size(current_database()) AS size")?.get("size") ?? 0
            }
        }
    }

    func vacuum() throws {
        try attempt("Cannot vacuum \(location)") {
            // The store's own tables, named: a bare VACUUM FULL run by a superuser rewrites
            // the server's shared catalogs too (pg_database, pg_authid), and while it waits
            // for their lock behind any open transaction that read them, every new connection
            // to every database on the server waits behind it.
            let tables = try read { db in
                try db.fetch(
                    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
                ).map { try $0.get("name") as String }
            }
            guard !tables.isEmpty else { return }
            mutex.lock()
            defer { mutex.unlock() }
            // FULL: plain VACUUM only makes the space of deleted rows reusable inside the
            // database; FULL rewrites the tables and gives it back to the file system. It
            // locks each table while it does, which the caller made safe by refusing while
            // any run is live (a writer arriving meanwhile waits). VACUUM refuses to run in a
            // transaction block: it goes alone, outside one (the extended protocol's implicit
            // transaction of one statement is allowed).
            // A table's lock is waited for `Timeouts.vacuumLockWait` at the most: while
            // VACUUM waits for it behind another session (a transaction left open in psql),
            // every reader and writer of the table waits behind VACUUM.
            let wait = Int(Timeouts.vacuumLockWait * 1000)
            do {
                try runOutsideTransaction(
                    "VACUUM FULL " + tables.joined(separator: ", "),
                    lockTimeoutMilliseconds: wait)
            } catch is LockTimeout {
                throw StoreError(
                    .database,
                    "another session held a lock on one of its tables for more than \(Timeouts.text(Timeouts.vacuumLockWait)) s (a transaction left open, in psql for instance); nothing was lost: try again once it ends.")
            }
        }
    }

    func reclaim(_ table: String) throws {
        try attempt("Cannot vacuum \(table) in \(location)") {
            mutex.lock()
            defer { mutex.unlock() }
            // Plain VACUUM: marks the space of the table's (and its TOAST table's) dead rows
            // free for the next inserts, without the exclusive lock of FULL. SKIP_LOCKED: when
            // another process vacuums the table, that one does the job. TRUNCATE false: the
            // next checkpoints reuse the space, and giving empty pages at the end back to the
            // file system takes an ACCESS EXCLUSIVE lock, which VACUUM waits up to 5 s for
            // behind any reader of the table (the dashboard's), and which holds readers off.
            try runOutsideTransaction("VACUUM (SKIP_LOCKED, TRUNCATE false) \(table)")
        }
    }

    /// A lock waited for longer than `runOutsideTransaction`'s `lockTimeoutMilliseconds`.
    private struct LockTimeout: Error {}

    /// Runs `sql` alone on the connection, outside a transaction block (as VACUUM must),
    /// waiting at most `lockTimeoutMilliseconds` for each lock when given (else `LockTimeout`).
    private func runOutsideTransaction(_ sql: String, lockTimeoutMilliseconds: Int? = nil) throws {
        let session = PostgresSession(try connected())
        do {
            if let lockTimeoutMilliseconds { try session.run("SET lock_timeout = \(lockTimeoutMilliseconds)") }
            defer { if lockTimeoutMilliseconds != nil { _ = try? session.run("RESET lock_timeout") } }
            try session.run(sql)
        } catch {
            if session.lostConnection { drop() }
            // 55P03, lock_not_available: lock_timeout ran out.
            if session.failedState == "55P03" { throw LockTimeout() }
            throw error
        }
    }

    func close() throws {
        mutex.lock()
        defer { mutex.unlock() }
        drop()
        isClosed = true
    }

    // MARK: - Dialect

    /// The server's clock as the text of every timestamp column: the time the writing
    /// statement started, as SQLite's 'now' is, not now()'s start of its transaction. A
    /// transaction that waited for a lock (a sweep's, `Store.reachRung` and
    /// `claimSweepJob`) then stamps its rows after whatever the holder committed: with now(),
    /// a rung reached by a transaction begun before a promotion and committed after it was
    /// stamped before that promotion, which never saw it.
    static let now = timestamp("statement_timestamp()")

    private static func timestamp(_ instant: String) -> String {
        "to_char((\(instant)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    static let postgresDialect = Dialect(
        now: now,
        expiry: { seconds in
            timestamp("statement_timestamp() + make_interval(secs => \(String(format: "%.3f", seconds)))")
        },
        // FOR UPDATE on the nullable side of the claim query's LEFT JOIN is an error in
        // PostgreSQL; only the trial row is locked (and skipped when another worker has it).
        skipLocked: "FOR UPDATE OF t SKIP LOCKED")
}
