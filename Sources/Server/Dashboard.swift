/// `mnistlab serve`: the routes of the live dashboard. It only reads the store. An SQLite
/// file is opened read-only for each request (and each poll of an event stream) and closed
/// again, because a read-only open of another user's file is SQLite's immutable mode, which
/// assumes nobody writes later — a long-lived connection would then miss the epochs a run
/// commits. A PostgreSQL store is one read-only connection per store thread for the server's
/// lifetime (`StoreThreads`): a new one per request would cost a TCP and SCRAM handshake each.
/// Every request's store work runs on those threads, never on Swift's cooperative ones.
import FlyingFox
import FlyingSocks
import Foundation
import ModelExport
import Prediction
import Synchronization
import Reports
import Store
import Training

public struct Dashboard: Sendable {
    /// The SQLite file or PostgreSQL URL served.
    public let databaseLocation: String
    /// The threads that read the store.
    let threads: StoreThreads
    /// The location as pages and messages show it (a URL without its password).
    public var shownLocation: String { Store.shown(databaseLocation) }
    /// How often an event stream looks for new epochs (SQLite: a `stat` of the file and its
    /// WAL, the store only opened when they changed; PostgreSQL: one small query).
    public let pollInterval: Duration
    /// How often the runs table's stream looks: its query reads every running run's row.
    var runsPollInterval: Duration { max(pollInterval, .milliseconds(250)) }
    /// Largest request body read (a PNG of a drawing is a few KB).
    public static let maxBodyBytes = 1 << 20
    /// The test images evaluations got wrong, worked out once per evaluation.
    let mistakes: MistakeFinder

    /// `dataDirectory` is where to look for the test images when a run's own dataset
    /// directory no longer has them (`serve --data`, else where `train` would look); nil for
    /// nowhere else.
    public init(
        databaseLocation: String, dataDirectory: String? = nil,
        pollInterval: Duration = .milliseconds(50)
    ) {
        self.databaseLocation = databaseLocation
        self.pollInterval = pollInterval
        threads = StoreThreads(location: databaseLocation)
        mistakes = MistakeFinder(fallback: dataDirectory)
    }

    /// An HTTP server for this dashboard on `host`:`port` (an IPv4 or IPv6 literal, or
    /// "localhost"); port 0 picks a free one (see `HTTPServer.listeningAddress`).
    public func server(host: String, port: UInt16) throws -> HTTPServer {
        let address: any SocketAddress
        if host == "localhost" {
            address = try sockaddr_in.inet(ip4: "127.0.0.1", port: port)
        } else if host.contains(":") {
            address = try sockaddr_in6.inet6(ip6: host, port: port)
        } else {
            address = try sockaddr_in.inet(ip4: host, port: port)
        }
        let config = HTTPServer.Configuration(address: address, logger: .disabled)
        return HTTPServer(config: config, handler: DashboardHandler(dashboard: self))
    }

    // MARK: - Routing

    /// The response to `request`; never throws (failures become 4xx/5xx JSON or pages).
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true)
            .map(String.init)
        let api = parts.first == "api"
        do {
            if request.method == .POST {
                guard parts.count == 4, api, parts[1] == "runs", parts[3] == "predict" else {
                    return notFound(request, api: api)
                }
                return try await predict(runID(parts[2]), request)
            }
            guard request.method == .GET || request.method == .HEAD else {
                throw HTTPError(405, "Method \(request.method.rawValue) is not allowed here.")
            }
            return try await threads.run { try get(parts, request, api: api) }
        } catch let error as HTTPError {
            return failure(error, api: api)
        } catch {
            return failure(HTTPError(error), api: api)
        }
    }

    /// The response to a GET of `parts`, on a store thread.
    private func get(_ parts: [String], _ request: HTTPRequest, api: Bool) throws -> HTTPResponse {
        switch (parts.count, api) {
        case (0, false): return try html(DashboardPage.runs(store { try $0.listings() }, source: shownLocation))
        case (1, false) where parts[0] == "compare": return try compare(request)
        case (2, false) where parts[0] == "runs": return try runPage(runID(parts[1]))
        case (3, false) where parts[0] == "runs" && parts[2] == "section":
            return try runSection(runID(parts[1]))
        case (3, false) where parts[0] == "runs" && parts[2].hasPrefix("model."):
            guard let format = ModelFormat(path: parts[2]) else { return notFound(request, api: api) }
            return try modelFile(runID(parts[1]), format, request)
        case (2, false) where parts[0] == "sweeps": return try sweepPage(sweepID(parts[1]))
        case (2, true) where parts[1] == "runs": return try json(store { try $0.summaries() })
        case (3, true) where parts[1] == "runs" && parts[2] == "events": return try runsEvents(request)
        case (3, true) where parts[1] == "runs": return try json(summary(runID(parts[2])))
        case (4, true) where parts[1] == "runs" && parts[3] == "epochs":
            let id = try runID(parts[2])
            return try json(store { s in _ = try summary(id, s); return try s.epochs(runID: id) })
        case (4, true) where parts[1] == "runs" && parts[3] == "events":
            return try events(runID(parts[2]), request)
        case (3, true) where parts[1] == "sweeps": return try json(sweep(sweepID(parts[2])))
        default: return notFound(request, api: api)
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

    private func sweep(_ id: Int64) throws -> SweepJSON {
        try store { store in
            guard let sweep = try store.sweep(id: id) else {
                throw HTTPError(404, "There is no sweep \(id).")
            }
            return SweepJSON(sweep: sweep, runs: try store.summaries(sweepID: id))
        }
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

    private func sweepPage(_ id: Int64) throws -> HTTPResponse {
        let found = try sweep(id)
        return html(DashboardPage.sweep(found.sweep, found.runs))
    }

    private func predict(_ id: Int64, _ request: HTTPRequest) async throws -> HTTPResponse {
        let point = try checkpointPoint(request.query["epoch"] ?? "best")
        let body = try await readBody(request)
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
        let prediction = try await threads.run { try self.predict(id, pixels, point) }
        return try json(prediction)
    }

    private func predict(_ id: Int64, _ pixels: [UInt8], _ point: ResumePoint) throws -> DigitPrediction {
        try store { store in
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
            statusCode: .ok,
            headers: [
                .contentType: "application/octet-stream",
                HTTPHeader("Content-Disposition"): "attachment; filename=\"\(name)\"",
            ],
            body: Self.body(Data(model.encoded(as: format))))
    }

    private func events(_ id: Int64, _ request: HTTPRequest) throws -> HTTPResponse {
        let current = try summary(id)
        // After the epoch the page already has (?after=N), or the last one an EventSource
        // saw before it reconnected (Last-Event-ID); else from the run's first epoch.
        let given = request.query["after"] ?? request.headers[HTTPHeader("Last-Event-ID")]
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
            PolledEventStream(
                dashboard: self,
                feed: EpochFeed(runID: id, after: after, watchesStatus: status == "1"),
                interval: pollInterval, title: "stream of run epochs"))
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
            PolledEventStream(
                dashboard: self, feed: RunsFeed(after: after), interval: runsPollInterval,
                title: "stream of run changes"))
    }

    private func eventStream(_ stream: PolledEventStream<some EventFeed>) -> HTTPResponse {
        HTTPResponse(
            statusCode: .ok,
            headers: [
                .contentType: "text/event-stream; charset=utf-8",
                HTTPHeader("Cache-Control"): "no-cache",
                HTTPHeader("X-Accel-Buffering"): "no",
            ],
            body: HTTPBodySequence(from: stream, suggestedBufferSize: 64 * 1024))
    }

    // MARK: - Helpers

    /// Runs `body` on the store, read-only, on a store thread (see `StoreThreads.withStore`).
    /// A store that can't be read is a 503.
    func store<T>(_ body: (Store) throws -> T) throws -> T {
        do {
            return try threads.withStore(body)
        } catch let error as StoreError {
            throw HTTPError(503, error.description)
        }
    }

    private func readBody(_ request: HTTPRequest) async throws -> [UInt8] {
        if let count = request.bodySequence.count, count > Self.maxBodyBytes {
            throw HTTPError(413, "The body is \(count) bytes; at most \(Self.maxBodyBytes) are read.")
        }
        var body: [UInt8] = []
        for try await chunk in request.bodySequence {
            body += chunk
            guard body.count <= Self.maxBodyBytes else {
                throw HTTPError(413, "The body is over \(Self.maxBodyBytes) bytes.")
            }
        }
        return body
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
            statusCode: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: Self.body(Data((try prettyJSON(value) + "\n").utf8)))
    }

    private func html(_ text: String) -> HTTPResponse {
        HTTPResponse(
            statusCode: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                // Inline script and style only; nothing is loaded from elsewhere.
                HTTPHeader("Content-Security-Policy"):
                    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob:",
            ],
            body: Self.body(Data(text.utf8)))
    }

    /// A response body written in pieces of up to 256 KiB: FlyingFox's default of 4 KiB made
    /// sending the 2.6 MB runs page at 5,000 runs take a quarter of its time.
    private static func body(_ data: Data) -> HTTPBodySequence {
        HTTPBodySequence(data: data, suggestedBufferSize: 256 * 1024)
    }

    private func failure(_ error: HTTPError, api: Bool) -> HTTPResponse {
        let status = HTTPStatusCode(error.status, phrase: error.phrase)
        if api {
            let body = (try? prettyJSON(["error": error.message])) ?? "{}"
            return HTTPResponse(
                statusCode: status, headers: [.contentType: "application/json; charset=utf-8"],
                body: Data((body + "\n").utf8))
        }
        return HTTPResponse(
            statusCode: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: Data(DashboardPage.error(status: error.status, error.message).utf8))
    }
}

/// A failure with its HTTP status and a one-line message for the client.
struct HTTPError: Error {
    var status: Int
    var message: String

    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A lower layer's error: a bad request if it is about what was asked, else a 500.
    init(_ error: any Error) {
        switch error {
        case let error as TrainingError: self.init(404, error.description)
        case let error as StoreError: self.init(500, error.description)
        default: self.init(500, "\(error)")
        }
    }

    var phrase: String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 503: "Service Unavailable"
        default: "Internal Server Error"
        }
    }
}

/// `/api/sweeps/{id}`: the sweep's row and its runs, best first.
struct SweepJSON: Encodable {
    var sweep: SweepRecord
    var runs: [RunSummary]

    func encode(to encoder: Encoder) throws {
        try sweep.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(runs, forKey: .runs)
    }

    enum Keys: String, CodingKey { case runs }
}

struct DashboardHandler: HTTPHandler {
    let dashboard: Dashboard

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        await dashboard.respond(to: request)
    }
}

extension Dashboard {
    /// Serves on `host`:`port` until the server fails or the task is cancelled; `listening`
    /// gets the URL once connections are accepted. Throws `HostError` for a host that is not
    /// an IP address, and `ListenError` for an address it may not listen on.
    public func run(
        host: String, port: UInt16, listening: @escaping @Sendable (String) -> Void
    ) async throws {
        let server: HTTPServer
        do {
            server = try self.server(host: host, port: port)
        } catch {
            throw HostError(host: host)
        }
        let announce = Task {
            try await server.waitUntilListening(timeout: 30)
            guard let address = await server.listeningAddress else { return }
            switch address {
            case .ip4(let ip, let port): listening("http://\(ip):\(port)/")
            case .ip6(let ip, let port): listening("http://[\(ip)]:\(port)/")
            case .unix(let file): listening(file)
            }
        }
        defer { announce.cancel() }
        do {
            try await server.run()
        } catch SocketError.failed(let type, let errno, let message) where type == "Bind" || type == "Listen" {
            throw ListenError(errno: errno, reason: message)
        }
    }
}

/// The address can't be listened on: its port is taken, it is not this machine's, or the
/// port needs privileges. `errno` and `reason` are the system's.
public struct ListenError: Error {
    public var errno: Int32
    public var reason: String
}

/// `--host` named something that is not an IPv4 or IPv6 address (nor "localhost").
public struct HostError: Error {
    public var host: String
}
