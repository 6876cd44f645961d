/// The dashboard's server-sent events: `GET /api/runs/{id}/events`, one `data:` line per
/// committed epoch, and `GET /api/runs/events`, one per change to a row of the runs table.
///
/// Reads are shared twice over. One poll per store (`ChangeSignal`) tells every stream when
/// something was committed. And every stream of the same thing (a run; the runs table after
/// the same run) reads it through one `SharedWatch`, which reads the store at most once per
/// change or period for all of them: 40 pages open on one run cost one read, not 40.
import Foundation
import Reports
import Store
import Synchronization

/// How often a watch reads the store.
enum FeedPace: Sendable {
    /// A running run: at every change of the store, and at least once a second (a lease that
    /// expires makes the run interrupted without any write).
    case live
    /// At every change of the store (new runs for the runs table).
    case onChange
    /// A finished run: a change of the store (a `resume` that continues it) is looked at
    /// no more than every five seconds, so that a store another run writes into every few
    /// milliseconds doesn't cost a query per epoch.
    case settled

    /// Whether a read is due, `since` the last one, when the store did (or did not) change.
    func isDue(changed: Bool, since: Duration) -> Bool {
        switch self {
        case .live: changed || since >= Timeouts.streamCheck
        case .onChange: changed
        case .settled: changed && since >= Timeouts.settledStream
        }
    }
}

/// What the streams of one thing share: its last read from the store.
protocol WatchedState: Sendable {
    associatedtype Key: Hashable & Sendable
    init(_ key: Key)
    /// Reads what changed since the last read.
    mutating func refresh(from store: Store) throws
    /// How often it needs the store read.
    var pace: FeedPace { get }
}

/// One poll per store for every stream (fan-out): a thread, running while any stream is
/// open, asks the store's `ChangeWatch` every `interval` whether anything was committed and
/// counts the changes; streams wait on the count, and watches read the store only when it
/// moved. (Unchecked: `condition` guards the waits on `state`, which its own mutex guards.)
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

    /// The number of streams listening.
    var listeners: Int { state.withLock { $0.listeners } }

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

/// The state of one watched thing, read from the store for every stream that watches it, at
/// most once per change of the store (or period, by its pace). A stream that needs more
/// than the state holds (`stale`) makes it read at once. A read that fails leaves the last
/// good state, and the next look tries again.
final class SharedWatch<State: WatchedState>: @unchecked Sendable {
    private let reader: StoreReader
    private let signal: ChangeSignal
    /// Guards the fields below, and is held during a read, so that the streams that look
    /// meanwhile wait for it rather than read too.
    private let lock = NSLock()
    private var state: State
    /// The change count and time of the last good read; nil before it.
    private var lastRead: (generation: UInt64, at: ContinuousClock.Instant)?

    init(_ key: State.Key, reader: StoreReader, signal: ChangeSignal) {
        state = State(key)
        self.reader = reader
        self.signal = signal
    }

    /// The state, read again first when a read is due; nil until one read succeeded.
    func look(stale: (inout State) -> Bool = { _ in false }) -> State? {
        lock.lock()
        defer { lock.unlock() }
        let generation = signal.generation
        var due = stale(&state)
        if let lastRead {
            due = due || state.pace.isDue(
                changed: generation != lastRead.generation, since: .now - lastRead.at)
        } else {
            due = true
        }
        if due {
            var next = state
            if (try? reader.read({ try next.refresh(from: $0) })) != nil {
                state = next
                lastRead = (generation, .now)
            }
        }
        return lastRead == nil ? nil : state
    }
}

/// The watches of the things streams are open on, one per key, dropped with the last stream.
final class Watches<State: WatchedState>: Sendable {
    private let reader: StoreReader
    private let signal: ChangeSignal
    private let open = Mutex<[State.Key: (watch: SharedWatch<State>, streams: Int)]>([:])

    init(reader: StoreReader, signal: ChangeSignal) {
        self.reader = reader
        self.signal = signal
    }

    /// The watch of `key` for one more stream; `release` it when the stream ends.
    func join(_ key: State.Key) -> SharedWatch<State> {
        open.withLock { open in
            let watch = open[key]?.watch ?? SharedWatch(key, reader: reader, signal: signal)
            open[key] = (watch, (open[key]?.streams ?? 0) + 1)
            return watch
        }
    }

    func release(_ key: State.Key) {
        open.withLock { open in
            guard let entry = open[key] else { return }
            open[key] = entry.streams > 1 ? (entry.watch, entry.streams - 1) : nil
        }
    }
}

/// What one event stream sends: the events its watch's state holds that the stream has not
/// sent yet.
protocol EventFeed: Sendable {
    associatedtype State: WatchedState
    /// What the stream watches.
    var key: State.Key { get }
    /// The events since the last call (`id:`/`data:` lines, each event ended by a blank
    /// line); empty when nothing changed.
    mutating func events(from watch: SharedWatch<State>) -> [UInt8]
}

/// An event stream fed by `feed`: it opens with a comment, sends the feed's events as the
/// store changes (`ChangeSignal`), at its watch's pace, and a comment line after
/// `Timeouts.streamKeepAlive` of quiet, which keeps proxies from closing it. It ends when a
/// write fails or the client closes its side, which it looks for every `Timeouts.streamCheck`.
struct EventStream<Feed: EventFeed>: ResponseStream {
    let signal: ChangeSignal
    let watches: Watches<Feed.State>
    let feed: Feed
    /// The comment the stream opens with.
    let title: String

    func run(_ output: StreamOutput) {
        signal.listen()
        defer { signal.stopListening() }
        let watch = watches.join(feed.key)
        defer { watches.release(feed.key) }
        let retry = Timeouts.streamRetry.components.seconds * 1000
        guard output.write(Array(": \(title)\nretry: \(retry)\n\n".utf8)) else { return }
        var feed = feed
        var seen = signal.generation
        var lastWrite = ContinuousClock.now
        while true {
            let events = feed.events(from: watch)
            if !events.isEmpty {
                guard output.write(events) else { return }
                lastWrite = .now
            } else if ContinuousClock.now - lastWrite > Timeouts.streamKeepAlive {
                guard output.write(Array(": keep-alive\n\n".utf8)) else { return }
                lastWrite = .now
            }
            seen = signal.wait(after: seen, timeout: Timeouts.streamCheck)
            if output.clientHasGone() { return }
        }
    }
}

// MARK: - A run's epochs

/// What the streams of one run share: its epochs after `floor`, each as its event, and its
/// status. After the first read, one index look-up for the epochs after the last held.
struct RunState: WatchedState {
    let runID: Int64
    /// The epochs after this one are held; nil before the first read.
    var floor: Int?
    /// The lowest epoch a stream needs the epochs after.
    var wanted = Int.max
    /// The epochs after `floor`, in order, each as `id: <epoch>` / `data: <its JSON>`.
    var epochs: [(number: Int, event: [UInt8])] = []
    /// The run's status at the last read; nil when it was deleted.
    var status: Run.Status?

    init(_ runID: Int64) {
        self.runID = runID
    }

    var pace: FeedPace {
        switch status {
        case .completed?, .failed?: .settled
        default: .live
        }
    }

    mutating func refresh(from store: Store) throws {
        let from: Int
        if let floor, floor <= wanted {
            from = epochs.last?.number ?? floor
        } else {
            from = wanted
            epochs = []
            floor = wanted
        }
        for epoch in try store.epochs(runID: runID, after: from) {
            epochs.append((epoch.epoch, event(id: "\(epoch.epoch)", try oneLineJSON(epoch))))
        }
        // Read after the epochs: a run's last epoch commits before it is marked completed,
        // so the page never sees "completed" ahead of the epoch that completed it.
        status = try store.listing(runID: runID)?.status
    }
}

/// Each epoch of run `runID` after `last` as `id: <epoch>` / `data: <the epoch's JSON>`, as
/// it commits. With `watchesStatus` (`?status=1`, what the run page asks for), also an
/// `event: status` with `{"status": …}` at the first look and whenever the run's status
/// changes — a run that finishes, fails or dies records no epoch to say so. Clients that
/// don't ask get epochs only.
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

    var key: Int64 { runID }

    mutating func events(from watch: SharedWatch<RunState>) -> [UInt8] {
        let last = last
        guard
            let state = watch.look(stale: { state in
                state.wanted = min(state.wanted, last)
                return state.floor.map { $0 > last } ?? true
            }),
            let floor = state.floor, floor <= last
        else { return [] }
        var out: [UInt8] = []
        for epoch in state.epochs where epoch.number > last {
            out += epoch.event
            self.last = epoch.number
        }
        if let now = state.status, now != status {
            if watchesStatus {
                out += event(id: nil, name: "status", (try? oneLineJSON(["status": now.rawValue])) ?? "{}")
            }
            status = now
        }
        return out
    }
}

// MARK: - The runs table

/// What the streams of the runs table after run `after` share: the rows of the runs that are
/// running or were created after it (as `/` renders them), in the store's order, and the
/// last row of each that was and no longer is ("" for a run deleted).
struct RunsTableState: WatchedState {
    let after: Int64
    var rows: [(id: Int64, row: String)] = []
    /// Whether a run watched was running at the last read.
    var anyRunning = false
    var left: [Int64: String] = [:]

    init(_ after: Int64) {
        self.after = after
    }

    var pace: FeedPace { anyRunning ? .live : .onChange }

    mutating func refresh(from store: Store) throws {
        let listings = try store.listings(runningOrAfter: after)
        let now = Set(listings.map(\.id))
        for (id, _) in rows where !now.contains(id) {
            left[id] = try store.listing(runID: id).map(DashboardPage.runRow) ?? ""
        }
        for id in now { left[id] = nil }
        rows = listings.map { ($0.id, DashboardPage.runRow($0)) }
        anyRunning = listings.contains { $0.status == .running }
    }
}

/// The rows of the runs table that changed, as `data: {"id": N, "row": "<tr…>"}` (the row as
/// `/` renders it; "" for a run that was deleted). It watches the runs that are running and
/// those created after run `after` (the newest the page listed): on the first look it sends
/// them all, so nothing that changed between the page and the stream is missed, then each
/// one whose row differs from the last sent, and a run that stopped running once more.
struct RunsFeed: EventFeed {
    let after: Int64
    /// The row last sent for each run watched.
    var shown: [Int64: String] = [:]

    init(after: Int64) {
        self.after = after
    }

    var key: Int64 { after }

    mutating func events(from watch: SharedWatch<RunsTableState>) -> [UInt8] {
        guard let state = watch.look() else { return [] }
        var out: [UInt8] = []
        func send(_ id: Int64, _ row: String) {
            guard shown[id] != row, let data = try? oneLineJSON(RowChange(id: id, row: row))
            else { return }
            out += event(id: nil, data)
            shown[id] = row
        }
        for (id, row) in state.rows { send(id, row) }
        let watched = Set(state.rows.map(\.id))
        for id in shown.keys.sorted() where !watched.contains(id) {
            send(id, state.left[id] ?? "")
            shown[id] = nil
        }
        return out
    }

    struct RowChange: Encodable {
        var id: Int64
        var row: String
    }
}

// MARK: - A sweep

/// What the streams of one sweep share: its trials (status, rung, run), rungs and runs'
/// progress at the last read, as text, and how many times that text changed. Live while the
/// sweep has trials to train or decide, then settled.
struct SweepWatchState: WatchedState {
    let sweepID: Int64
    /// What the last read saw; nil before the first.
    var seen: String? = nil
    var changes = 0
    var open = true

    init(_ sweepID: Int64) {
        self.sweepID = sweepID
    }

    var pace: FeedPace { open ? .live : .settled }

    mutating func refresh(from store: Store) throws {
        guard let state = try store.sweepState(id: sweepID) else { return }
        var now = state.trials.map { "\($0.number):\($0.status.rawValue):\($0.rung ?? -1):\($0.runID ?? 0)" }
            .joined(separator: ",")
        now += ";\(state.rungs.count);"
        now += try store.summaries(sweepID: sweepID)
            .map { "\($0.run.id):\($0.run.status.rawValue):\($0.lastEpoch ?? 0)" }.joined(separator: ",")
        open = SweepState.isOpen(trials: state.trials, size: state.sweep.size)
        guard now != seen else { return }
        seen = now
        changes += 1
    }
}

/// A sweep's changes, for its page: `data: {"changes": N}` at the first look and whenever
/// the sweep's trials, rungs or runs' progress differ from the last look (N counts the
/// changes its watch saw).
struct SweepFeed: EventFeed {
    let sweepID: Int64
    /// The count last sent; 0 before the first.
    var sent = 0

    init(sweepID: Int64) {
        self.sweepID = sweepID
    }

    var key: Int64 { sweepID }

    mutating func events(from watch: SharedWatch<SweepWatchState>) -> [UInt8] {
        guard let state = watch.look(), state.changes != sent,
            let data = try? oneLineJSON(["changes": state.changes])
        else { return [] }
        sent = state.changes
        return event(id: nil, data)
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
