/// `GET /api/runs/{id}/events`: server-sent events, one `data:` line per committed epoch.
import FlyingSocks
import Foundation
import Store

/// The bytes of an event stream: each epoch of the run after `after` as
/// `id: <epoch>` / `data: <the epoch's JSON>`, as it commits. Every `pollInterval` the stream
/// looks for new epochs: on SQLite it compares the database file's and its WAL's size and
/// modification time with the last look and, only when they changed (or a second has
/// passed), opens the store read-only for the new epochs and closes it; on PostgreSQL it asks
/// the server's connection for the epochs after the last one sent (one index look-up).
/// A comment line every 15 s keeps proxies from closing an idle stream and tells the server
/// when the client has gone (the write fails and the connection ends).
struct EpochEventStream: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8

    let dashboard: Dashboard
    let runID: Int64
    let after: Int
    var pollInterval: Duration { dashboard.pollInterval }

    func makeAsyncIterator() -> Iterator {
        Iterator(stream: self, last: after)
    }

    struct Iterator: AsyncBufferedIteratorProtocol {
        let stream: EpochEventStream
        var last: Int
        var pending: [UInt8] = Array(": stream of run epochs\nretry: 1000\n\n".utf8)
        var signature: [Int64] = []
        var quietSince = ContinuousClock.now
        var lastRead = ContinuousClock.now

        init(stream: EpochEventStream, last: Int) {
            self.stream = stream
            self.last = last
        }

        mutating func next() async throws -> UInt8? {
            guard let buffer = try await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async throws -> [UInt8]? {
            while pending.isEmpty {
                try await Task.sleep(for: stream.pollInterval)
                pending = try newEvents()
                if pending.isEmpty, ContinuousClock.now - quietSince > .seconds(15) {
                    pending = Array(": keep-alive\n\n".utf8)
                }
                if !pending.isEmpty { quietSince = ContinuousClock.now }
            }
            let chunk = Array(pending.prefix(Swift.max(count, 1)))
            pending.removeFirst(chunk.count)
            return chunk
        }

        /// Events for the epochs committed since the last look; none if the files are as
        /// they were. Modification times tick in jiffies and a WAL restarted after a
        /// checkpoint keeps its size, so a commit right after a look could leave both as they
        /// were: the store is read at least once a second whatever they say.
        mutating func newEvents() throws -> [UInt8] {
            let onServer = stream.dashboard.serverConnection != nil
            let now = onServer ? [] : fileSignature(stream.dashboard.databaseLocation)
            guard onServer || now != signature || ContinuousClock.now - lastRead > .seconds(1)
            else {
                return []
            }
            lastRead = ContinuousClock.now
            let epochs: [EpochRecord]
            do {
                let after = last
                epochs = try stream.dashboard.store { try $0.epochs(runID: stream.runID, after: after) }
            } catch {
                // A migration or a file being replaced: look again at the next poll.
                return []
            }
            signature = now
            var out: [UInt8] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for epoch in epochs {
                // One line: JSONEncoder without .prettyPrinted escapes newlines in strings.
                let json = String(decoding: try encoder.encode(epoch), as: UTF8.self)
                out += Array("id: \(epoch.epoch)\ndata: \(json)\n\n".utf8)
                last = epoch.epoch
            }
            return out
        }
    }
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
