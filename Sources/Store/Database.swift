/// `Store`: the one owner of an mnistlab SQLite file. Opening it (checks, durability
/// settings, migration) lives here; writes are in Writes.swift, reads in Queries.swift and
/// the `sql` command's read-only path in SQLQuery.swift.
import Foundation
import GRDB

/// An mnistlab database file. Every write goes through one of its methods, each one
/// transaction; it can be shared between threads (GRDB serializes access).
public final class Store: Sendable {
    /// The path as given to `open`, used in every error message.
    public let path: String
    /// True when opened with `readOnly: true`: every write method then fails.
    public let isReadOnly: Bool
    let writer: DatabaseQueue

    /// 'MNST', stamped by 0001_init.sql into the SQLite header.
    static let applicationID: Int32 = 0x4D4E_5354

    /// Closes the connection now rather than whenever the last reference goes. The last
    /// connection to close folds the WAL back into the database file, so a copy of the
    /// `.sqlite` file alone then holds every commit; call it before the process exits.
    public func close() throws {
        try attempt("Cannot close database at \(path)") { try writer.close() }
    }

    private init(path: String, writer: DatabaseQueue, isReadOnly: Bool) {
        self.path = path
        self.writer = writer
        self.isReadOnly = isReadOnly
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
    public static func open(
        path: String, readOnly: Bool = false, allowOlderSchema: Bool = false
    ) throws -> Store {
        try attempt("Cannot open database at \(path.isEmpty ? "''" : path)") {
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
            // wait up to 30 s for it instead of failing at once with "database is locked".
            // This only helps transactions that take the lock at BEGIN, hence IMMEDIATE.
            config.busyMode = .timeout(30)
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
            return Store(path: path, writer: writer, isReadOnly: readOnly)
        }
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
        config.busyMode = .timeout(30)
        let reader = try DatabaseQueue(path: readOnlyLocation(path), configuration: config)
        return try reader.read { db in
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let objectCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_schema") ?? 0
            if applicationID != Store.applicationID {
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

    // MARK: - Transactions

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction. A deferred transaction starts as a
    /// reader and upgrades to a writer at its first write; if another process wrote in
    /// between, that upgrade fails with SQLITE_BUSY at once, without the busy timeout.
    /// IMMEDIATE takes the write lock at BEGIN, where the busy timeout does apply, so two
    /// processes writing one file queue up instead of failing with "database is locked".
    func writeTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            guard let result else {
                throw StoreError(.database, "the transaction finished without a result.")
            }
            return result
        }
    }
}
