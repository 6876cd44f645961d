/// Reading a store from a long-lived server process (the dashboard), and telling whether it
/// changed since the last look. Only the Store knows how each engine does either: the server
/// sees no file names and no engine types.
import Foundation
import Synchronization

/// The dashboard's way into its store, read-only, shared by every request.
///
/// SQLite: the file is opened read-only for each read and closed after, because a read-only
/// open of another user's file is SQLite's immutable mode, which assumes nobody writes later
/// — a long-lived connection would then miss the epochs a run commits.
///
/// PostgreSQL: a few connections kept for the process's lifetime (a new one per request would
/// cost a TCP and SCRAM handshake each), each serving one read at a time, so that a query
/// waiting on a lock holds its own page and not the others. At most `maxConnections` are
/// open; a read that finds them all busy fails at once as unavailable (the dashboard's 503)
/// rather than queue. A server that went away makes a read fail at once with an error that
/// `isUnavailable`, never after the reconnect window a training run waits out: the idle
/// connections are dropped and the next read connects again.
public final class StoreReader: Sendable {
    /// The file path or PostgreSQL URL, as given to `Store.open`.
    public let location: String
    private let isServer: Bool
    private let maxConnections: Int
    /// Connections not in use, and how many are open in all.
    private let pool = Mutex<(idle: [Store], open: Int)>(([], 0))
    private let reads = Atomic<Int>(0)

    /// The number of reads so far (`read` calls, failed ones included).
    public var readCount: Int { reads.load(ordering: .relaxed) }

    public init(location: String, maxConnections: Int = 8) {
        self.location = location
        self.maxConnections = maxConnections
        isServer = PostgresLocation.isURL(location)
    }

    /// Runs `body` on the store, opened read-only.
    public func read<T>(_ body: (Store) throws -> T) throws -> T {
        reads.add(1, ordering: .relaxed)
        guard isServer else {
            let store = try Store.open(location: location, readOnly: true)
            defer { try? store.close() }
            return try body(store)
        }
        let store = try checkOut()
        do {
            let result = try body(store)
            checkIn(store)
            return result
        } catch let error as StoreError where error.isUnavailable {
            // The server went away: this connection and the idle ones with it.
            let idle = pool.withLock { pool in
                let idle = pool.idle
                pool.open -= idle.count + 1
                pool.idle = []
                return idle
            }
            for stale in idle + [store] { try? stale.close() }
            throw error
        } catch {
            checkIn(store)
            throw error
        }
    }

    /// An idle connection, or a new one while fewer than `maxConnections` are open.
    private func checkOut() throws -> Store {
        enum Pick { case idle(Store), new, busy }
        let pick = pool.withLock { pool -> Pick in
            if let store = pool.idle.popLast() { return .idle(store) }
            guard pool.open < maxConnections else { return .busy }
            pool.open += 1
            return .new
        }
        switch pick {
        case .idle(let store): return store
        case .busy:
            throw StoreError(
                .connection, "all \(maxConnections) of the dashboard's connections are busy; try again shortly.",
                action: "Cannot read \(Store.shown(location))")
        case .new:
            // Opened outside the lock: a server that takes its connect timeout to refuse must
            // not hold up the reads that find an idle connection.
            do {
                return try attempt("Cannot open database at \(Store.shown(location))") {
                    Store(
                        engine: try PostgresEngine.open(
                            url: location, readOnly: true, allowOlderSchema: false,
                            migrations: PostgresMigrations.all, reconnectWindow: 0))
                }
            } catch {
                pool.withLock { $0.open -= 1 }
                throw error
            }
        }
    }

    private func checkIn(_ store: Store) {
        pool.withLock { $0.idle.append(store) }
    }
}

/// Whether a store may have changed since the previous look. A look may say "changed" when
/// nothing was (callers then read and find nothing new), never the reverse.
public struct ChangeWatch: Sendable {
    private var last: [Int64]?

    public init() {}

    /// True when something may have been committed to `reader`'s store since the previous
    /// call (always at the first). SQLite: the size and modification time of the file and of
    /// its write-ahead log, taken without opening the database (a commit changes the log, a
    /// checkpoint the file). PostgreSQL: the server's next transaction id (one small query on
    /// the reader's connection), which every transaction that writes moves on.
    public mutating func changed(in reader: StoreReader) throws -> Bool {
        let now =
            PostgresLocation.isURL(reader.location)
            ? [try reader.read { try $0.nextTransactionID() }]
            : Self.fileSignature(reader.location)
        defer { last = now }
        return now != last
    }

    /// Size and modification time (ns) of the file and of its `-wal`; -1 for a missing file.
    /// A missing log and an empty one are the same (0, 0): the first reader of a file whose
    /// log was folded in creates an empty one, which is no change of the data.
    static func fileSignature(_ path: String) -> [Int64] {
        [path, path + "-wal"].flatMap { file -> [Int64] in
            var info = stat()
            let log = file != path
            guard stat(file, &info) == 0 else { return log ? [0, 0] : [-1, -1] }
            if log && info.st_size == 0 { return [0, 0] }
            return [
                Int64(info.st_size),
                Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            ]
        }
    }
}

extension Store {
    /// PostgreSQL's next transaction id (the current snapshot's xmax): it moves whenever a
    /// transaction that writes starts, on this database or another of the same server.
    func nextTransactionID() throws -> Int64 {
        try attempt("Cannot look for changes in \(location)") {
            try read { db in
                try db.scalar(
                    "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", as: Int64.self)
                    ?? 0
            }
        }
    }
}
