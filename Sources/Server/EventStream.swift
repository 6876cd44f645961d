/// The dashboard's server-sent events: `GET /api/runs/{id}/events`, one `data:` line per
/// committed epoch, and `GET /api/runs/events`, one per change to a row of the runs table.
import FlyingSocks
import Foundation
import Reports
import Store

/// What one event stream sends: the events since its last look at the store.
protocol EventFeed: Sendable {
    /// The bytes of the events since the last call (`id:`/`data:` lines, each event ended by
    /// a blank line); empty when nothing changed.
    mutating func events(from store: Store) throws -> [UInt8]
}

/// The bytes of an event stream fed by `feed`. Every `interval` the stream looks for news: on
/// SQLite it compares the database file's and its WAL's size and modification time with the
/// last look and, only when they changed (or a second has passed), opens the store read-only
/// for the feed and closes it; on PostgreSQL it asks the server's connection (one small query).
/// A comment line every 15 s keeps proxies from closing an idle stream and tells the server
/// when the client has gone (the write fails and the connection ends).
struct PolledEventStream<Feed: EventFeed>: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8

    let dashboard: Dashboard
    let feed: Feed
    let interval: Duration
    /// The comment the stream opens with.
    let title: String

    func makeAsyncIterator() -> Iterator {
        Iterator(stream: self, feed: feed)
    }

    struct Iterator: AsyncBufferedIteratorProtocol {
        let stream: PolledEventStream
        var feed: Feed
        var pending: [UInt8]
        var signature: [Int64] = []
        var quietSince = ContinuousClock.now
        var lastRead = ContinuousClock.now

        init(stream: PolledEventStream, feed: Feed) {
            self.stream = stream
            self.feed = feed
            pending = Array(": \(stream.title)\nretry: 1000\n\n".utf8)
        }

        mutating func next() async throws -> UInt8? {
            guard let buffer = try await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async throws -> [UInt8]? {
            while pending.isEmpty {
                try await Task.sleep(for: stream.interval)
                pending = await newEvents()
                if pending.isEmpty, ContinuousClock.now - quietSince > .seconds(15) {
                    pending = Array(": keep-alive\n\n".utf8)
                }
                if !pending.isEmpty { quietSince = ContinuousClock.now }
            }
            let chunk = Array(pending.prefix(Swift.max(count, 1)))
            pending.removeFirst(chunk.count)
            return chunk
        }

        /// The feed's events since the last look; none if the files are as they were.
        /// Modification times tick in jiffies and a WAL restarted after a checkpoint keeps its
        /// size, so a commit right after a look could leave both as they were: the store is
        /// read at least once a second whatever they say (which also catches a lease that
        /// expired, a change no write makes).
        mutating func newEvents() async -> [UInt8] {
            let onServer = stream.dashboard.threads.isServer
            let now = onServer ? [] : fileSignature(stream.dashboard.databaseLocation)
            guard onServer || now != signature || ContinuousClock.now - lastRead > .seconds(1)
            else {
                return []
            }
            lastRead = ContinuousClock.now
            let (dashboard, last) = (stream.dashboard, feed)
            do {
                let (events, next) = try await dashboard.threads.run {
                    var next = last
                    return (try dashboard.store { try next.events(from: $0) }, next)
                }
                feed = next
                signature = now
                return events
            } catch {
                // A migration, a file being replaced, a server restarting: look again at the
                // next poll, from where the last good look left off.
                return []
            }
        }
    }
}

/// Each epoch of run `runID` after `last` as `id: <epoch>` / `data: <the epoch's JSON>`, as
/// it commits: after the first look, one index look-up for the epochs after the last sent.
/// With `watchesStatus` (`?status=1`, what the run page asks for), also an `event: status`
/// with `{"status": …}` at the first look and whenever the run's status changes — a run that
/// finishes, fails or dies records no epoch to say so. Clients that don't ask get epochs only.
struct EpochFeed: EventFeed {
    let runID: Int64
    var last: Int
    let watchesStatus: Bool
    /// The status last sent; nil before the first.
    var status: Run.Status? = nil

    init(runID: Int64, after last: Int, watchesStatus: Bool) {
        self.runID = runID
        self.last = last
        self.watchesStatus = watchesStatus
    }

    mutating func events(from store: Store) throws -> [UInt8] {
        var out: [UInt8] = []
        for epoch in try store.epochs(runID: runID, after: last) {
            out += event(id: "\(epoch.epoch)", try oneLineJSON(epoch))
            last = epoch.epoch
        }
        // Read after the epochs: a run's last epoch commits before it is marked completed,
        // so the page never sees "completed" ahead of the epoch that completed it.
        if watchesStatus, let now = try store.listing(runID: runID)?.status, now != status {
            out += event(id: nil, name: "status", try oneLineJSON(["status": now.rawValue]))
            status = now
        }
        return out
    }
}

/// The rows of the runs table that changed, as `data: {"id": N, "row": "<tr…>"}` (the row as
/// `/` renders it; "" for a run that was deleted). It watches the runs that are running and
/// those created after run `after` (the newest the page listed): on the first look it sends
/// them all, so nothing that changed between the page and the stream is missed, then each
/// one whose row differs from the last sent, and a run that stopped running once more.
struct RunsFeed: EventFeed {
    var after: Int64
    /// The row last sent for each run watched.
    var shown: [Int64: String] = [:]

    init(after: Int64) {
        self.after = after
    }

    mutating func events(from store: Store) throws -> [UInt8] {
        var out: [UInt8] = []
        var watched = Set<Int64>()
        func send(_ id: Int64, _ row: String) throws {
            guard shown[id] != row else { return }
            out += event(id: nil, try oneLineJSON(RowChange(id: id, row: row)))
            shown[id] = row
        }
        for run in try store.listings(runningOrAfter: after) {
            watched.insert(run.id)
            try send(run.id, DashboardPage.runRow(run))
        }
        for id in shown.keys.sorted() where !watched.contains(id) {
            try send(id, try store.listing(runID: id).map(DashboardPage.runRow) ?? "")
            shown[id] = nil
        }
        return out
    }

    struct RowChange: Encodable {
        var id: Int64
        var row: String
    }
}

/// One event: optional `id:` and `event:` lines, the `data:` line, and the blank line that
/// ends it.
private func event(id: String?, name: String? = nil, _ data: String) -> [UInt8] {
    let head = (id.map { "id: \($0)\n" } ?? "") + (name.map { "event: \($0)\n" } ?? "")
    return Array((head + "data: \(data)\n\n").utf8)
}

/// JSON on one line: JSONEncoder without .prettyPrinted escapes newlines in strings.
private func oneLineJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Size and modification time (ns) of the file and of its `-wal`: a commit changes the WAL.
func fileSignature(_ path: String) -> [Int64] {
    [path, path + "-wal"].flatMap { file -> [Int64] in
        var info = stat()
        guard stat(file, &info) == 0 else { return [-1, -1] }
        return [
            Int64(info.st_size),
            Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
        ]
    }
}
