/// `mnistlab serve`: the routes of the live dashboard. It only reads the store, through a
/// `StoreReader` (which knows how each engine is best read by a long-lived process), and
/// answers 503 with the reason while the store can't be read.
import Foundation
import ModelExport
import Prediction
import Reports
import Store
import Training

public struct Dashboard: Sendable {
    /// The SQLite file or PostgreSQL URL served.
    public let databaseLocation: String
    /// How requests and streams read the store.
    let reader: StoreReader
    /// One poll of the store for every event stream.
    let changes: ChangeSignal
    /// One read per change for every stream of a run, of the runs table, and of a sweep.
    let runWatches: Watches<RunState>
    let tableWatches: Watches<RunsTableState>
    let sweepWatches: Watches<SweepWatchState>
    /// The location as pages and messages show it (a URL without its password).
    public var shownLocation: String { Store.shown(databaseLocation) }
    /// The test images evaluations got wrong, worked out once per evaluation.
    let mistakes: MistakeFinder
    /// What each sweep found, worked out again only when its trials' results change.
    let findings = FindingsMemo()
    /// How long and how many of the searches clients write may run.
    let searches = SearchGate()

    /// `dataDirectory` is where to look for the test images when a run's own dataset
    /// directory no longer has them (`serve --data`, else where `train` would look); nil for
    /// nowhere else. Event streams look for changes every `pollInterval` (one look for all).
    public init(
        databaseLocation: String, dataDirectory: String? = nil,
        pollInterval: Duration = Timeouts.changePoll
    ) {
        self.databaseLocation = databaseLocation
        reader = StoreReader(location: databaseLocation)
        changes = ChangeSignal(reader: reader, interval: pollInterval)
        runWatches = Watches(reader: reader, signal: changes)
        tableWatches = Watches(reader: reader, signal: changes)
        sweepWatches = Watches(reader: reader, signal: changes)
        mistakes = MistakeFinder(fallback: dataDirectory)
    }

    // MARK: - Routing

    /// The response to `request`; never throws (failures become 4xx/5xx JSON or pages).
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true)
            .map(String.init)
        let api = parts.first == "api"
        do {
            if request.method == "POST" {
                guard parts.count == 4, api, parts[1] == "runs", parts[3] == "predict" else {
                    return notFound(request, api: api)
                }
                return try predict(runID(parts[2]), request)
            }
            guard request.method == "GET" || request.method == "HEAD" else {
                throw HTTPError(405, "Method \(request.method.prefix(20)) is not allowed here.")
            }
            switch (parts.count, api) {
            case (0, false): return try html(DashboardPage.runs(store { try $0.listings() }, source: shownLocation))
            case (1, false) where parts[0] == "compare": return try compare(request)
            case (2, false) where parts[0] == "runs": return try runPage(runID(parts[1]))
            case (3, false) where parts[0] == "runs" && parts[2] == "section":
                return try runSection(runID(parts[1]))
            case (3, false) where parts[0] == "runs" && parts[2].hasPrefix("model."):
                guard let format = ModelFormat(path: parts[2]) else { return notFound(request, api: api) }
                return try modelFile(runID(parts[1]), format, request)
            case (2, false) where parts[0] == "sweeps":
                return try html(DashboardPage.sweep(figures(sweepID(parts[1]))))
            case (3, false) where parts[0] == "sweeps" && parts[2] == "section":
                return try html(DashboardPage.sweepSection(figures(sweepID(parts[1]))))
            case (2, true) where parts[1] == "runs": return try json(runs(request))
            case (2, true) where parts[1] == "server": return try json(counters)
            case (3, true) where parts[1] == "runs" && parts[2] == "events": return try runsEvents(request)
            case (3, true) where parts[1] == "runs": return try json(summary(runID(parts[2])))
            case (4, true) where parts[1] == "runs" && parts[3] == "epochs":
                let id = try runID(parts[2])
                return try json(store { s in _ = try summary(id, s); return try s.epochs(runID: id) })
            case (4, true) where parts[1] == "runs" && parts[3] == "events":
                return try events(runID(parts[2]), request)
            case (3, true) where parts[1] == "sweeps": return try json(sweep(sweepID(parts[2])))
            case (4, true) where parts[1] == "sweeps" && parts[3] == "events":
                return try sweepEvents(sweepID(parts[2]))
            default: return notFound(request, api: api)
            }
        } catch let error as HTTPError {
            return failure(error, api: api)
        } catch {
            return failure(HTTPError(error), api: api)
        }
    }

    private func notFound(_ request: HTTPRequest, api: Bool) -> HTTPResponse {
        failure(HTTPError(404, "No such page: \(request.path)"), api: api)
    }

    // MARK: - Handlers

    private func summary(_ id: Int64) throws -> RunSummary {
        try store { try summary(id, $0) }
    }

    private func summary(_ id: Int64, _ store: Store) throws -> RunSummary {
        guard let summary = try store.summary(runID: id) else {
            throw HTTPError(404, "There is no run \(id).")
        }
        return summary
    }

    /// `/api/runs`: every run, newest first, or those that `where`, `sort`, `sweep` and
    /// `status` choose, as `mnistlab runs --where … --sort …` chooses them (`RunSearch`).
    private func runs(_ request: HTTPRequest) throws -> [RunSummary] {
        let query = request.query
        guard query["where"] != nil || query["sort"] != nil || query["sweep"] != nil
            || query["status"] != nil
        else { return try store { try $0.summaries() } }
        var search = RunSearch(expression: query["where"])
        if let text = query["sort"] {
            guard let sort = RunSearch.Sort(text) else {
                throw HTTPError(400, "sort takes a column of run_summary, optionally followed by ,asc or ,desc.")
            }
            search.sort = sort
        }
        if let text = query["sweep"] {
            guard let id = Int64(text) else { throw HTTPError(400, "sweep takes a sweep id.") }
            search.sweepID = id
        }
        if let text = query["status"] {
            guard let status = Run.Status(rawValue: text) else {
                throw HTTPError(400, "status takes running, completed, interrupted or failed.")
            }
            search.status = status
        }
        // A search the store refuses or stops is the request's fault (400), not the
        // store's (503).
        func find() throws -> [RunSummary] {
            try store { store in
                do {
                    return try store.summaries(search, limits: searches.limits)
                } catch let error as StoreError where error.isTheSearchsFault {
                    throw HTTPError(400, error.description)
                }
            }
        }
        return try search.expression == nil ? find() : searches.run(find)
    }

    private func sweep(_ id: Int64) throws -> SweepJSON {
        try store { store in
            SweepJSON(figures: try figures(id, store), runs: try store.summaries(sweepID: id))
        }
    }

    /// The sweep's figures as its page draws them.
    private func figures(_ id: Int64) throws -> SweepFigures {
        try store { try figures(id, $0) }
    }

    private func figures(_ id: Int64, _ store: Store) throws -> SweepFigures {
        guard let figures = try SweepFigures.load(sweepID: id, from: store, memo: findings) else {
            throw HTTPError(404, "There is no sweep \(id).")
        }
        return figures
    }

    /// The runs with their epochs and evaluations (with the test images each got wrong when
    /// `withMistakes`), and the ancestors their curves continue.
    private func report(_ ids: [Int64], withMistakes: Bool = false) throws -> Report {
        try store { store in
            func history(_ s: RunSummary) throws -> ReportRun {
                ReportRun(
                    summary: s, epochs: try store.epochs(runID: s.run.id),
                    evaluations: try store.evaluations(runID: s.run.id))
            }
            let runs = try ids.map { id in
                var r = try history(summary(id, store))
                if withMistakes {
                    for e in r.evaluations {
                        r.misclassified[e.epoch] = mistakes.find(e, of: r.summary.run, in: store)
                    }
                }
                return r
            }
            var lineage: [ReportRun] = []
            var seen = Set(ids)
            for r in runs {
                var next = r.summary.run.parentRunID
                while let id = next, seen.insert(id).inserted,
                    let parent = try store.summary(runID: id)
                {
                    lineage.append(try history(parent))
                    next = parent.run.parentRunID
                }
            }
            return Report(
                runs: runs, lineage: lineage, source: shownLocation,
                generatedAt: ISO8601DateFormatter().string(from: Date()))
        }
    }

    private func runPage(_ id: Int64) throws -> HTTPResponse {
        let (forks, kept) = try store { try ($0.forks(of: id), $0.checkpointEpochs(runID: id)) }
        return try html(
            DashboardPage.run(
                report([id], withMistakes: true), runID: id, forks: forks, checkpoints: kept))
    }

    private func runSection(_ id: Int64) throws -> HTTPResponse {
        try html(DashboardPage.section(report([id], withMistakes: true), id))
    }

    private func compare(_ request: HTTPRequest) throws -> HTTPResponse {
        let text = request.query["runs"] ?? ""
        let ids = try text.split(separator: ",").map { try runID(String($0)) }
        guard !ids.isEmpty, ids.count <= 20 else {
            throw HTTPError(400, "Give 1 to 20 run ids: /compare?runs=1,2,3")
        }
        var unique: [Int64] = []
        for id in ids where !unique.contains(id) { unique.append(id) }
        return try html(DashboardPage.compare(report(unique)))
    }

    private func predict(_ id: Int64, _ request: HTTPRequest) throws -> HTTPResponse {
        let point = try checkpointPoint(request.query["epoch"] ?? "best")
        let body = request.body
        let pixels: [UInt8]
        // 784 bytes that are not a PNG are raw pixels, MNIST's own format: used as they are.
        if body.count == 784 && !body.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            pixels = body
        } else {
            do {
                pixels = try DigitPreparation.prepare(GrayImage.decode(body))
            } catch {
                throw HTTPError(
                    400, "The body must be 784 raw bytes (28×28) or a PNG; \(error).")
            }
        }
        let prediction = try store { store in
            _ = try summary(id, store)
            do {
                let loaded = try store.checkpoint(runID: id, at: point)
                guard let first = try loaded.classify([pixels]).first else {
                    throw HTTPError(500, "No prediction.")
                }
                return first
            } catch let error as TrainingError {
                throw HTTPError(404, error.description)
            }
        }
        return try json(prediction)
    }

    /// `/runs/ID/model.onnx`, `/runs/ID/model.safetensors` (`?epoch=`, best by default): the
    /// checkpoint as `export-model` writes it, as a download.
    private func modelFile(_ id: Int64, _ format: ModelFormat, _ request: HTTPRequest) throws
        -> HTTPResponse
    {
        let point = try checkpointPoint(request.query["epoch"] ?? "best")
        let model = try store { store in
            _ = try summary(id, store)
            do { return try store.exportableModel(runID: id, at: point) } catch let error as TrainingError {
                throw HTTPError(404, error.description)
            }
        }
        let name = "mnistlab-run-\(id)-epoch-\(model.epoch ?? 0).\(format.fileExtension)"
        return HTTPResponse(
            status: 200,
            headers: [
                ("Content-Type", "application/octet-stream"),
                ("Content-Disposition", "attachment; filename=\"\(name)\""),
            ],
            body: .bytes(Array(model.encoded(as: format))))
    }

    private func events(_ id: Int64, _ request: HTTPRequest) throws -> HTTPResponse {
        let current = try summary(id)
        // After the epoch the page already has (?after=N), or the last one an EventSource
        // saw before it reconnected (Last-Event-ID); else from the run's first epoch.
        let given = request.query["after"] ?? request.headers["last-event-id"]
        let after: Int
        if let given {
            guard let n = Int(given), n >= 0 else {
                throw HTTPError(400, "after must be an epoch number; got '\(given)'.")
            }
            after = n
        } else {
            after = current.run.parentEpoch ?? 0
        }
        let status = request.query["status"] ?? "0"
        guard status == "0" || status == "1" else {
            throw HTTPError(400, "status must be 1 (send status changes) or 0; got '\(status.prefix(40))'.")
        }
        return eventStream(
            EventStream(
                signal: changes, watches: runWatches,
                feed: EpochFeed(runID: id, after: after, watchesStatus: status == "1"),
                title: "stream of run epochs"))
    }

    /// `/api/runs/events?after=N`: the runs table's changes, for the runs that are running
    /// and those created after run N (the newest the page listed).
    private func runsEvents(_ request: HTTPRequest) throws -> HTTPResponse {
        let given = request.query["after"] ?? "0"
        guard let after = Int64(given), after >= 0 else {
            throw HTTPError(400, "after must be a run id; got '\(given.prefix(40))'.")
        }
        // Read once now, so that a store that can't be read is a 503 rather than a silent stream.
        _ = try store { try $0.listings(runningOrAfter: after) }
        return eventStream(
            EventStream(
                signal: changes, watches: tableWatches, feed: RunsFeed(after: after),
                title: "stream of run changes"))
    }

    /// `/api/sweeps/{id}/events`: a `data:` line each time the sweep's trials, rungs or runs
    /// change, for its page to re-render.
    private func sweepEvents(_ id: Int64) throws -> HTTPResponse {
        // Read once now: an unknown sweep is a 404 and a store that can't be read a 503.
        guard try store({ try $0.sweep(id: id) }) != nil else {
            throw HTTPError(404, "There is no sweep \(id).")
        }
        return eventStream(
            EventStream(
                signal: changes, watches: sweepWatches, feed: SweepFeed(sweepID: id),
                title: "stream of sweep changes"))
    }

    private func eventStream(_ stream: EventStream<some EventFeed>) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-cache"),
                ("X-Accel-Buffering", "no"),
            ],
            body: .stream(stream))
    }

    /// `/api/server`: what the server holds and has done, for whoever watches its load.
    private var counters: ServerCounters {
        ServerCounters(
            eventStreams: changes.listeners, storeChanges: changes.generation,
            storeReads: reader.readCount)
    }

    // MARK: - Helpers

    /// Runs `body` on the store, read-only. A store that can't be read is a 503.
    func store<T>(_ body: (Store) throws -> T) throws -> T {
        do {
            return try reader.read(body)
        } catch let error as StoreError {
            throw HTTPError(503, error.description)
        }
    }

    private func runID(_ text: String) throws -> Int64 {
        guard let id = Int64(text), id > 0 else {
            throw HTTPError(400, "A run id is a positive integer; got '\(text.prefix(40))'.")
        }
        return id
    }

    private func sweepID(_ text: String) throws -> Int64 {
        guard let id = Int64(text), id > 0 else {
            throw HTTPError(400, "A sweep id is a positive integer; got '\(text.prefix(40))'.")
        }
        return id
    }

    private func checkpointPoint(_ text: String) throws -> ResumePoint {
        switch text {
        case "best": return .best
        case "last": return .last
        default:
            guard let n = Int(text), n > 0 else {
                throw HTTPError(400, "epoch must be best, last or an epoch number; got '\(text.prefix(40))'.")
            }
            return .epoch(n)
        }
    }

    private func json(_ value: some Encodable) throws -> HTTPResponse {
        HTTPResponse(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8")],
            body: .bytes(Array((try prettyJSON(value) + "\n").utf8)))
    }

    private func html(_ text: String) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: [
                ("Content-Type", "text/html; charset=utf-8"),
                // Inline script and style only; nothing is loaded from elsewhere.
                (
                    "Content-Security-Policy",
                    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob:"
                ),
            ],
            body: .bytes(Array(text.utf8)))
    }

    private func failure(_ error: HTTPError, api: Bool) -> HTTPResponse {
        guard !api else { return .error(error) }
        return HTTPResponse(
            status: error.status, headers: [("Content-Type", "text/html; charset=utf-8")],
            body: .bytes(Array(DashboardPage.error(status: error.status, error.message).utf8)))
    }
}

extension HTTPError {
    /// A lower layer's error: a bad request if it is about what was asked, 503 while the
    /// store can't be reached, else a 500.
    init(_ error: any Error) {
        switch error {
        case let error as TrainingError: self.init(404, error.description)
        case let error as StoreError: self.init(error.isUnavailable ? 503 : 500, error.description)
        default: self.init(500, "\(error)")
        }
    }
}

/// `/api/server`: the event streams open, the changes of the store the streams' poll saw, and
/// the reads of the store made so far (requests, streams and, on PostgreSQL, the poll).
struct ServerCounters: Encodable {
    var eventStreams: Int
    var storeChanges: UInt64
    var storeReads: Int

    enum CodingKeys: String, CodingKey {
        case eventStreams = "event_streams", storeChanges = "store_changes", storeReads = "store_reads"
    }
}

/// `/api/sweeps/{id}`: the sweep's row, its runs (best first), and the figures' data:
/// trials with their settings and metrics, axes, metrics, rungs, importance, best settings
/// and seed groups (`SweepFigures`' JSON).
struct SweepJSON: Encodable {
    var figures: SweepFigures
    var runs: [RunSummary]

    func encode(to encoder: Encoder) throws {
        try figures.sweep.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(runs, forKey: .runs)
        try figures.encode(to: encoder)
    }

    enum Keys: String, CodingKey { case runs }
}

extension Dashboard {
    /// Serves on `host`:`port` until the process ends, answering the names `policy` allows;
    /// `listening` gets the URL once connections are accepted. Throws `HostError` for a host
    /// that is not an IP address, and `ListenError` for an address it may not listen on.
    public func run(
        host: String, port: UInt16, allowing allowedHosts: [String] = [],
        limits: HTTPLimits = HTTPLimits(), listening: (String) -> Void
    ) throws -> Never {
        let server = try HTTPServer(
            host: host, port: port, policy: HostPolicy(listeningOn: host, allowing: allowedHosts),
            limits: limits, handler: { self.respond(to: $0) })
        listening(server.url)
        server.run()
    }
}

extension StoreError {
    /// The search was refused or stopped for what it asked, not for the store's state.
    fileprivate var isTheSearchsFault: Bool {
        switch kind {
        case .badSearch, .notReadOnly, .invalidArgument, .queryTooLong: true
        default: false
        }
    }
}
