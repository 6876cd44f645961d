/// The SQLite engine: an mnistlab file opened through GRDB. Opening it (checks, durability
/// settings, migration) lives here, with the dialect's clock, `sql`'s read-only guard
/// (SQLiteReadOnlyStatement.swift) and VACUUM; the store's logic runs on it through
/// `SQLConnection`.
import Foundation
import GRDB

final class SQLiteEngine: Engine {
    /// The path as given to `open`, used in every error message.
    let path: String
    let isReadOnly: Bool
    let writer: DatabaseQueue

    var location: String { path }

    /// 'MNST', stamped by 0001_init.sql into the SQLite header.
    static let applicationID: Int32 = 0x4D4E_5354

    /// SQLite's clock: the machine's, in the timestamp format.
    var dialect: Dialect { Self.clock }
    static let clock = Dialect(
        now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        expiry: { seconds in
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+\(String(format: "%.3f", seconds)) seconds')"
        },
        skipLocked: "")

    private init(path: String, writer: DatabaseQueue, isReadOnly: Bool) {
        self.path = path
        self.writer = writer
        self.isReadOnly = isReadOnly
    }

    /// Closes the connection now rather than whenever the last reference goes. The last
    /// connection to close folds the WAL back into the database file, so a copy of the
    /// `.sqlite` file alone then holds every commit; call it before the process exits.
    func close() throws {
        try writer.close()
    }

    /// Opens (and, read-write, creates and migrates) the database at `path`.
    ///
    /// Read-write: a missing or empty (0-byte) file is created; an older schema is migrated.
    /// Read-only: nothing is ever written, created or migrated. The file must exist and hold
    /// an mnistlab database at this build's schema (an older one is refused with
    /// `.olderSchema` unless `allowOlderSchema`, which only `status` can read). A file the
    /// user may only read works: when SQLite could not create the `-shm` beside it (a
    /// directory or file of another user, a read-only mount) and no writer has one open, the
    /// file is opened immutable, which needs no `-shm`.
    ///
    /// Refuses, leaving the file byte-identical, when the path is empty or a directory, the
    /// file is not SQLite, is SQLite of another application, was written by a newer mnistlab,
    /// or (read-write) when the file or its directory is not writable.
    static func open(path: String, readOnly: Bool, allowOlderSchema: Bool) throws -> SQLiteEngine {
        guard !path.isEmpty else {
            throw StoreError(.emptyPath, "the path is empty.")
        }
        guard !path.hasSuffix("/") else {
            throw StoreError(.notOurDatabase, "the path ends with '/', so it names a directory.")
        }
        // Everything that can refuse runs before a writable connection exists: opening
        // read-write would already switch the journal to WAL and migrate.
        // A regular file is checked for writing first: on a read-only mount, `inspect`'s
        // read-only SQLite open of a WAL file fails with a bare "unable to open database
        // file" (it can't create the -shm), which would hide the actual reason.
        var isDirectory: ObjCBool = false
        if !readOnly, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
            !isDirectory.boolValue
        {
            try requireWritable(path, exists: true)
        }
        let found = try inspect(path)
        if readOnly {
            try requireReadable(found, allowOlderSchema: allowOlderSchema)
        } else {
            try requireWritable(path, exists: found != .missing)
        }

        var config = Configuration()
        config.readonly = readOnly
        // Another process may hold the write lock (a training run recording an epoch):
        // wait up to `Timeouts.sqliteBusy` for it instead of failing at once with "database is locked".
        // This only helps transactions that take the lock at BEGIN, hence IMMEDIATE.
        config.busyMode = .timeout(Timeouts.sqliteBusy)
        // SQLite ships with foreign keys off for compatibility; our REFERENCES clauses
        // (epoch → run, checkpoint → epoch, fork → checkpoint) only hold with them on.
        // It is per connection, so it is set on every one.
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            if !readOnly {
                // WAL: readers (`mnistlab runs` while training) never block the writer
                // and vice versa, and a crashed process leaves a consistent file. The
                // mode is stored in the file, so this is a no-op after the first open.
                // 16 KiB pages: a checkpoint (320 KB for the seed network) spans a fifth
                // as many overflow pages and WAL frames as with the 4 KiB default, which
                // halves the time an epoch's commit takes. It only applies to a new file.
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                // With WAL, NORMAL syncs only at checkpoints, not every commit: a power
                // loss may lose the last few commits but never corrupts the file, and a
                // process crash loses nothing committed. FULL would fsync every epoch for
                // no gain.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
        }
        let location = readOnly ? readOnlyLocation(path) : path
        let writer = try DatabaseQueue(path: location, configuration: config)
        if !readOnly {
            try Migrations.migrate(writer)
        }
        return SQLiteEngine(path: path, writer: writer, isReadOnly: readOnly)
    }

    /// What a read-only connection opens: the path itself, or, when SQLite could not create
    /// the `-shm` it needs for a WAL file (the directory isn't ours to write, or the file
    /// belongs to another user, whose later writes a `-shm` of ours would break) and no
    /// writer has one open, the file as an immutable URI. No `-shm` means no process is
    /// writing it now; a writer that starts later makes its own, which the next open sees.
    static func readOnlyLocation(_ path: String) -> String {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path + "-shm") { return path }
        let owner = (try? fileManager.attributesOfItem(atPath: path))?[.ownerAccountID]
        let ours = (owner as? NSNumber)?.uint32Value == geteuid()
        if ours && access(directoryOf(path), W_OK) == 0 { return path }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        var components = URLComponents()
        components.scheme = "file"
        components.path = absolute.path
        components.queryItems = [URLQueryItem(name: "immutable", value: "1")]
        // URLComponents leaves '?' and '#' of a path encoded, and '%' as %25: what SQLite's
        // URI parser decodes back.
        return components.string ?? path
    }

    // MARK: - Checks before opening

    /// What `inspect` found at a path it did not refuse.
    enum FileState: Equatable {
        /// No file.
        case missing
        /// An empty file, or SQLite with no tables and no application id: a new database.
        case empty
        /// An mnistlab database with these migrations applied.
        case ours(appliedVersions: [Int])
    }

    /// Classifies the file at `path` without writing to it: the 16-byte SQLite header is read
    /// as plain bytes, and only a file that has it is opened, with a read-only connection.
    static func inspect(_ path: String) throws -> FileState {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let directory = directoryOf(path)
            guard FileManager.default.fileExists(atPath: directory) else {
                throw StoreError(.noDirectory, "the directory \(directory) does not exist.")
            }
            return .missing
        }
        if isDirectory.boolValue {
            throw StoreError(.notOurDatabase, "it is a directory, not a database file.")
        }
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.notReadable, "the file can't be read (permission denied).")
        }
        let header = try file.read(upToCount: 16) ?? Data()
        try file.close()
        if header.isEmpty { return .empty }
        guard header == Data("SQLite format 3\0".utf8) else {
            throw StoreError(.notOurDatabase, "the file is not a database (not SQLite).")
        }

        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(Timeouts.sqliteBusy)
        let reader = try DatabaseQueue(path: readOnlyLocation(path), configuration: config)
        return try reader.read { db in
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let objectCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_schema") ?? 0
            if applicationID != SQLiteEngine.applicationID {
                if objectCount == 0 { return .empty }
                throw StoreError(
                    .notOurDatabase,
                    "it is an SQLite database of another application, not mnistlab.")
            }
            let applied = try Migrations.appliedVersions(db)
            if let newer = Migrations.unknownVersion(in: applied) {
                throw StoreError.newerSchema(version: newer)
            }
            return .ours(appliedVersions: applied)
        }
    }

    /// A read-only open needs an mnistlab database at this build's schema (or an older one,
    /// when the caller only reads what every schema has).
    private static func requireReadable(_ found: FileState, allowOlderSchema: Bool) throws {
        switch found {
        case .missing, .empty:
            throw StoreError(.missing, "there is no mnistlab database there yet.")
        case .ours(let applied):
            let current = applied.max() ?? 0
            if current < Migrations.latestVersion && !allowOlderSchema {
                throw StoreError.olderSchema(version: current)
            }
        }
    }

    /// A read-write open writes the file and, in WAL mode, creates `-wal`/`-shm` beside it.
    private static func requireWritable(_ path: String, exists: Bool) throws {
        if exists, access(path, W_OK) != 0 {
            throw StoreError(.notWritable, "the file is read-only.")
        }
        let directory = directoryOf(path)
        if access(directory, W_OK) != 0 {
            throw StoreError(.directoryNotWritable, "the directory \(directory) is not writable.")
        }
    }

    /// The directory part of `path`: "." for a bare file name. (Not NSString's
    /// deletingLastPathComponent, which traps on a one-character name on Linux.)
    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    // MARK: - Engine

    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try writer.read { db in try body(GRDBConnection(db: db)) }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction. A deferred transaction starts as a
    /// reader and upgrades to a writer at its first write; if another process wrote in
    /// between, that upgrade fails with SQLITE_BUSY at once, without the busy timeout.
    /// IMMEDIATE takes the write lock at BEGIN, where the busy timeout does apply, so two
    /// processes writing one file queue up instead of failing with "database is locked".
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(GRDBConnection(db: db))
                return .commit
            }
            guard let result else {
                throw StoreError(.database, "the transaction finished without a result.")
            }
            return result
        }
    }

    /// Nothing to do: the IMMEDIATE transaction already excludes every other writer.
    func lock(_ resource: String, _ connection: any SQLConnection) throws {}

    /// One statement on its own read-only connection, behind the authorizer of
    /// SQLiteReadOnlyStatement.swift.
    func query(_ sql: String, limits: StatementLimits) throws -> QueryResult {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(Timeouts.sqliteBusy)
        let reader = try DatabaseQueue(path: Self.readOnlyLocation(path), configuration: config)
        // inDatabase: no transaction around the statement, so GRDB runs no statement of
        // its own while our authorizer replaces its one on this throwaway connection.
        return try reader.inDatabase { db in try ReadOnlyStatement.run(sql, in: db, limits: limits) }
    }

    func appliedMigrations() throws -> [AppliedMigration] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
            ).map {
                AppliedMigration(version: $0["version"], name: $0["name"], appliedAt: $0["applied_at"])
            }
        }
    }

    var knownSchemaVersion: Int { Migrations.latestVersion }

    /// Size of the database file plus its write-ahead log.
    func sizeBytes() -> Int64 { fileSize(path) + fileSize(path + "-wal") }

    private func fileSize(_ path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Folds the write-ahead log into the file, rebuilds it (SQLite's VACUUM) and truncates
    /// the log again. A writer that starts meanwhile waits for it (the busy timeout).
    /// Nothing: freed pages go to the file's free list, which the next insert reuses.
    func reclaim(_ table: String) throws {}

    func vacuum() throws {
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }
}

/// The store's statements on a GRDB connection: `?` and `?N` are SQLite's own placeholders.
struct GRDBConnection: SQLConnection {
    let db: Database

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let statement = try db.cachedStatement(sql: sql)
        try statement.execute(arguments: StatementArguments(arguments.map(\.databaseValue)))
        return db.changesCount
    }

    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        let columns = SQLColumns(statement.columnNames)
        let indexes = 0..<CInt(statement.columnCount)
        // Each value straight from the stepped statement: GRDB's Row.fetchAll would copy every
        // row into a Row first.
        let cursor = try Row.fetchCursor(
            statement, arguments: StatementArguments(arguments.map(\.databaseValue)))
        var rows: [SQLRow] = []
        while try cursor.next() != nil {
            let values = indexes.map {
                SQLValue(DatabaseValue(sqliteStatement: statement.sqliteStatement, index: $0))
            }
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }
}

extension SQLValue {
    /// GRDB's form of the value, to bind.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }
}

extension DatabaseError: EngineFailure {
    /// SQLite's own message, without GRDB's echo of the SQL and its arguments.
    var engineMessage: String { message ?? "SQLite error \(resultCode.rawValue)" }
}
