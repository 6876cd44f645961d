/// The dashboard's server-sent events: `GET /api/runs/{id}/events`, one `data:` line per
/// committed epoch, and `GET /api/runs/events`, one per change to a row of the runs table.
import Foundation
import Reports
import Store
import Synchronization

/// What one event stream sends: the events since its last look at the store.
protocol EventFeed: Sendable {
    /// The bytes of the events since the last call (`id:`/`data:` lines, each event ended by
    /// a blank line); empty when nothing changed.
    mutating func events(from store: Store) throws -> [UInt8]
    /// How often the feed needs the store read (known after the first `events`).
    var pace: FeedPace { get }
}

/// How often a stream reads the store for its feed.
enum FeedPace: Sendable {
    /// A running run: at every change of the store, and at least once a second (a lease that
    /// expires makes the run interrupted without any write).
    case live
    /// At every change of the store (new runs for the runs table).
    case onChange
    /// A finished run: a change of the store (a `resume` that continues it) is looked at
    /// no more than every five seconds, so that a store another run writes into every few
    /// milliseconds doesn't cost a query per stream per epoch.
    case settled
}

/// One poll per store for every stream (fan-out): a thread, running while any stream is
/// open, asks the store's `ChangeWatch` every `interval` whether anything was committed and
/// counts the changes; streams wait on the count and read the store only when it moved.
/// (Unchecked: `condition` guards the waits on `state`, which its own mutex guards.)
final class ChangeSignal: @unchecked Sendable {
    private let reader: StoreReader
    private let interval: Duration
    private struct State {
        var generation: UInt64 = 0
        var listeners = 0
        var polling = false
    }
    private let state = Mutex(State())
    private let condition = NSCondition()

    init(reader: StoreReader, interval: Duration) {
        self.reader = reader
        self.interval = interval
    }

    /// The number of changes seen so far.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// A stream starts listening: the poll runs while any does.
    func listen() {
        let start = state.withLock { state in
            state.listeners += 1
            guard !state.polling else { return false }
            state.polling = true
            return true
        }
        if start { Thread { self.poll() }.start() }
    }

    func stopListening() {
        state.withLock { $0.listeners -= 1 }
    }

    /// Waits until the count passes `seen` or `timeout` passes; returns the count.
    func wait(after seen: UInt64, timeout: Duration) -> UInt64 {
        let until = Date().addingTimeInterval(timeout.timeInterval)
        condition.lock()
        defer { condition.unlock() }
        while generation == seen, condition.wait(until: until) {}
        return generation
    }

    private func poll() {
        var watch = ChangeWatch()
        while true {
            let stop = state.withLock { state in
                guard state.listeners > 0 else {
                    state.polling = false
                    return true
                }
                return false
            }
            if stop { return }
            // A store that can't be read now changed nothing: streams wait, and their own
            // reads say nothing until it is back.
            if (try? watch.changed(in: reader)) == true {
                condition.lock()
                state.withLock { $0.generation += 1 }
                condition.broadcast()
                condition.unlock()
            }
            Thread.sleep(forTimeInterval: interval.timeInterval)
        }
    }
}

/// An event stream fed by `feed`: it opens with a comment, sends the feed's events as the
/// store changes (`ChangeSignal`), at the feed's pace, and a comment line after
/// `Timeouts.streamKeepAlive` of quiet, which keeps proxies from closing it. It ends when a
/// write fails or the client closes its side, which it looks for every `Timeouts.streamCheck`.
struct EventStream<Feed: EventFeed>: ResponseStream {
    let dashboard: Dashboard
    let feed: Feed
    /// The comment the stream opens with.
    let title: String

    func run(_ output: StreamOutput) {
        let signal = dashboard.changes
        signal.listen()
        defer { signal.stopListening() }
        let retry = Timeouts.streamRetry.components.seconds * 1000
        guard output.write(Array(": \(title)\nretry: \(retry)\n\n".utf8)) else { return }
        var feed = feed
        var seen = signal.generation
        var lastRead = ContinuousClock.now
        var lastWrite = ContinuousClock.now
        var events = read(&feed)
        while true {
            if !events.isEmpty {
                guard output.write(events) else { return }
                lastWrite = .now
            } else if ContinuousClock.now - lastWrite > Timeouts.streamKeepAlive {
                guard output.write(Array(": keep-alive\n\n".utf8)) else { return }
                lastWrite = .now
            }
            events = []
            let now = signal.wait(after: seen, timeout: Timeouts.streamCheck)
            if output.clientHasGone() { return }
            let since = ContinuousClock.now - lastRead
            let due: Bool
            switch feed.pace {
            case .live: due = now != seen || since >= Timeouts.streamCheck
            case .onChange: due = now != seen
            case .settled: due = now != seen && since >= Timeouts.settledStream
            }
            guard due else { continue }
            seen = now
            lastRead = .now
            events = read(&feed)
        }
    }

    /// The feed's events since its last look. A store that can't be read (a migration, a
    /// file being replaced, a server restarting) gives none: the next look starts from where
    /// the last good one left off.
    private func read(_ feed: inout Feed) -> [UInt8] {
        var next = feed
        guard let events = try? dashboard.reader.read({ try next.events(from: $0) }) else {
            return []
        }
        feed = next
        return events
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
    /// The status at the last look; nil before the first.
    var status: Run.Status? = nil

    init(runID: Int64, after last: Int, watchesStatus: Bool) {
        self.runID = runID
        self.last = last
        self.watchesStatus = watchesStatus
    }

    var pace: FeedPace {
        switch status {
        case .completed?, .failed?: .settled
        default: .live
        }
    }

    mutating func events(from store: Store) throws -> [UInt8] {
        var out: [UInt8] = []
        for epoch in try store.epochs(runID: runID, after: last) {
            out += event(id: "\(epoch.epoch)", try oneLineJSON(epoch))
            last = epoch.epoch
        }
        // Read after the epochs: a run's last epoch commits before it is marked completed,
        // so the page never sees "completed" ahead of the epoch that completed it.
        if let now = try store.listing(runID: runID)?.status, now != status {
            if watchesStatus {
                out += event(id: nil, name: "status", try oneLineJSON(["status": now.rawValue]))
            }
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
    /// Whether a run watched was running at the last look.
    var anyRunning = false

    init(after: Int64) {
        self.after = after
    }

    var pace: FeedPace { anyRunning ? .live : .onChange }

    mutating func events(from store: Store) throws -> [UInt8] {
        var out: [UInt8] = []
        var watched = Set<Int64>()
        func send(_ id: Int64, _ row: String) throws {
            guard shown[id] != row else { return }
            out += event(id: nil, try oneLineJSON(RowChange(id: id, row: row)))
            shown[id] = row
        }
        anyRunning = false
        for run in try store.listings(runningOrAfter: after) {
            watched.insert(run.id)
            anyRunning = anyRunning || run.status == .running
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

/// A sweep's changes, for its page: `data: {"changes": N}` at the first look and whenever
/// the sweep's trials (status, rung, run) or their runs' progress differ from the last look.
/// Live while the sweep has trials to train or decide, then settled.
struct SweepFeed: EventFeed {
    let sweepID: Int64
    /// What the last look saw, as text; nil before the first.
    var seen: String? = nil
    var changes = 0
    var open = true

    init(sweepID: Int64) {
        self.sweepID = sweepID
    }

    var pace: FeedPace { open ? .live : .settled }

    mutating func events(from store: Store) throws -> [UInt8] {
        guard let state = try store.sweepState(id: sweepID) else { return [] }
        var now = state.trials.map { "\($0.number):\($0.status.rawValue):\($0.rung ?? -1):\($0.runID ?? 0)" }
            .joined(separator: ",")
        now += ";\(state.rungs.count);"
        now += try store.summaries(sweepID: sweepID)
            .map { "\($0.run.id):\($0.run.status.rawValue):\($0.lastEpoch ?? 0)" }.joined(separator: ",")
        open = SweepState.isOpen(trials: state.trials, size: state.sweep.size)
        guard now != seen else { return [] }
        seen = now
        changes += 1
        return event(id: nil, try oneLineJSON(["changes": changes]))
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
