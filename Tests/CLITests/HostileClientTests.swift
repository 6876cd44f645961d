import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `mnistlab serve` against clients that break the rules, over loopback: names it does not
/// serve (DNS rebinding), writes from other sites, heads and bodies too large, sockets held
/// idle or trickled, too many connections and streams. Each attack is a bounded loop; each
/// asserts the refusal, that the server's CPU time and memory stay bounded during and after
/// it, and that `/api/runs` still answers. (Latencies are in BENCHMARKS.md, not here.)
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct HostileClientTests {
    /// A store with one finished run of 2 epochs, and a server on it.
    func served(_ arguments: [String] = []) throws -> (Sandbox, RunningServer) {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "2"])
        return (sandbox, try RunningServer(sandbox, arguments))
    }

    /// One request over a fresh connection with exactly these header lines; its status.
    func status(
        _ server: RunningServer, _ method: String, _ target: String, _ headers: [String],
        body: [UInt8] = []
    ) throws -> (status: Int, closed: Bool, text: String) {
        let connection = try RawConnection(server.port)
        var head = "\(method) \(target) HTTP/1.1\r\n" + headers.map { $0 + "\r\n" }.joined()
        if !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        connection.send(Array((head + "Connection: close\r\n\r\n").utf8) + body)
        return connection.status()
    }

    /// `/api/runs` answers 200 (the HTTP client gives up after 30 s).
    func answers(_ server: RunningServer) -> Bool {
        (try? HTTP.get(server.port, "/api/runs").status) == 200
    }

    /// Waits (at most `seconds`) until `/api/runs` answers 200 again.
    func answersAgain(_ server: RunningServer, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if answers(server) { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    @Test func foreignHostNamesAreRefusedBeforeAnyRoute() throws {
        // Given a server that also answers a reverse proxy's name
        let (sandbox, server) = try served(["--allow-host", "lab.example.org"])
        defer { withExtendedLifetime(sandbox) {} }
        let own = "Host: 127.0.0.1:\(server.port)"

        // Then a rebinding page's name is refused on every route, pages and streams included
        for target in ["/api/runs/1", "/", "/runs/1", "/api/runs/1/events", "/api/runs/events", "/nothing"] {
            let refused = try status(server, "GET", target, ["Host: evil.example:\(server.port)"])
            #expect(refused.status == 421 && refused.closed, "\(target): \(refused.text)")
            #expect(refused.text.contains(#""error""#) && !refused.text.contains("dataset"), "\(refused.text)")
        }
        // And a request without a Host, or with two, is a bad request
        #expect(try status(server, "GET", "/api/runs/1", []).status == 400)
        #expect(try status(server, "GET", "/api/runs/1", [own, "Host: evil.example"]).status == 400)
        // While its own names, loopback names and addresses, and the allowed name are served
        for host in [own, "Host: localhost:\(server.port)", "Host: [::1]:\(server.port)", "Host: lab.example.org"] {
            let served = try status(server, "GET", "/api/runs/1", [host])
            #expect(served.status == 200, "\(host): \(served.text)")
        }
    }

    @Test func writesFromAnotherSiteAreRefused() throws {
        let (sandbox, server) = try served()
        defer { withExtendedLifetime(sandbox) {} }
        let own = "Host: 127.0.0.1:\(server.port)"
        let digit = [UInt8](repeating: 0, count: 784)
        // A cross-site POST (a page elsewhere) is refused; the dashboard's own page and a
        // script without Origin are answered
        let foreign = try status(server, "POST", "/api/runs/1/predict", [own, "Origin: http://evil.example"], body: digit)
        #expect(foreign.status == 403 && foreign.text.contains(#""error""#), "\(foreign.text)")
        let opaque = try status(server, "POST", "/api/runs/1/predict", [own, "Origin: null"], body: digit)
        #expect(opaque.status == 403)
        let page = try status(
            server, "POST", "/api/runs/1/predict", [own, "Origin: http://127.0.0.1:\(server.port)"], body: digit)
        #expect(page.status == 200 && page.text.contains(#""label""#), "\(page.text)")
        let script = try status(server, "POST", "/api/runs/1/predict", [own], body: digit)
        #expect(script.status == 200, "\(script.text)")
    }

    @Test func oversizedRequestsAreRefusedWithoutBeingRead() throws {
        let (sandbox, server) = try served()
        defer { withExtendedLifetime(sandbox) {} }
        let pid = server.process.processIdentifier
        let before = try ProcessSnapshot(pid)
        let own = "Host: 127.0.0.1:\(server.port)\r\n"
        for _ in 0..<3 {
            // A 200 KB request line without an end
            let line = try RawConnection(server.port)
            line.send(Array("GET /".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 200_000))
            let longLine = line.status()
            #expect(longLine.status == 431 && longLine.closed, "\(longLine.text)")

            // 64 headers of 1 KB
            let headers = try RawConnection(server.port)
            let filler = String(repeating: "x", count: 1000)
            headers.send("GET /api/runs HTTP/1.1\r\n" + own + (0..<64).map { "X-\($0): \(filler)\r\n" }.joined() + "\r\n")
            #expect(headers.status().status == 431)

            // A body declared as 1 GiB: refused before it is read, and the connection closed,
            // so the bytes that follow are never taken for another request
            let huge = try RawConnection(server.port)
            huge.send("POST /api/runs/1/predict HTTP/1.1\r\n" + own + "Content-Length: 1073741824\r\n\r\n")
            huge.send(Array("GET /api/runs HTTP/1.1\r\n\(own)\r\n".utf8) + [UInt8](repeating: 65, count: 1 << 20), seconds: 2)
            let refused = huge.status()
            #expect(refused.status == 413 && refused.closed, "\(refused.text.prefix(300))")
            #expect(refused.text.components(separatedBy: "HTTP/1.1 ").count == 2, "one answer only")

            // A 3 MB text/plain body, as any web page can send
            let plain = try RawConnection(server.port)
            plain.send(
                Array("POST /api/runs/1/predict HTTP/1.1\r\n\(own)Content-Type: text/plain\r\nContent-Length: 3000000\r\n\r\n".utf8)
                    + [UInt8](repeating: 66, count: 3_000_000), seconds: 2)
            #expect(plain.status().status == 413)

            // And the runs still answer meanwhile
            #expect(answers(server))
        }
        // Then the attacks cost little: each of them once took 17-19 CPU-seconds
        let after = try ProcessSnapshot(pid)
        #expect(after.cpuSeconds - before.cpuSeconds < 5, "\(after.cpuSeconds - before.cpuSeconds) CPU-s")
        #expect(after.rssBytes < 300 << 20, "\(after.rssBytes) bytes resident")
        Thread.sleep(forTimeInterval: 1)
        let later = try ProcessSnapshot(pid)
        #expect(later.cpuSeconds - after.cpuSeconds < 0.5, "still busy after the attack")
    }

    @Test func idleAndTrickledConnectionsAreClosed() throws {
        let (sandbox, server) = try served()
        defer { withExtendedLifetime(sandbox) {} }
        let pid = server.process.processIdentifier
        let before = try ProcessSnapshot(pid)
        // A socket that says nothing, one that sends half a head, and one that trickles a
        // header line a second, are all closed by the server (10 s for a head, 5 s idle)
        let idle = try RawConnection(server.port)
        let half = try RawConnection(server.port)
        half.send("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let trickle = try RawConnection(server.port)
        trickle.send("GET /api/runs HTTP/1.1\r\n")
        var trickleClosed = false
        for i in 0..<40 where !trickleClosed {
            trickleClosed = trickle.send(Array("X-\(i): y\r\n".utf8), seconds: 1) == 0
                || trickle.readUntilClosed(seconds: 1).closed
        }
        #expect(trickleClosed, "a trickled head is held")
        #expect(idle.readUntilClosed(seconds: 30).closed, "an idle socket is held")
        #expect(half.readUntilClosed(seconds: 30).closed, "half a head is held")
        // A kept-alive connection is closed when no next request comes
        let kept = try RawConnection(server.port)
        kept.send("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let (data, closed) = kept.readUntilClosed(seconds: 30)
        #expect(closed && String(decoding: data, as: UTF8.self).hasPrefix("HTTP/1.1 200 "))
        // And they cost nothing while held
        #expect(try ProcessSnapshot(pid).cpuSeconds - before.cpuSeconds < 2)
        #expect(answers(server))
    }

    @Test func connectionsPastTheCapAreToldTheServerIsBusy() throws {
        let (sandbox, server) = try served()
        defer { withExtendedLifetime(sandbox) {} }
        let pid = server.process.processIdentifier
        let before = try ProcessSnapshot(pid)
        // Given as many idle connections as the server serves at once (128)
        var held: [RawConnection] = []
        for _ in 0..<128 { held.append(try RawConnection(server.port)) }
        // Then the next is told 503 at once, and closed
        var busy: (status: Int, closed: Bool, text: String) = (0, false, "")
        for _ in 0..<20 where busy.status != 503 {
            let next = try RawConnection(server.port)
            next.send("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            busy = next.status()
        }
        #expect(busy.status == 503 && busy.closed && busy.text.contains(#""error""#), "\(busy.text)")
        // And once they go, the runs answer again
        held.removeAll()
        #expect(answersAgain(server))
        #expect(try ProcessSnapshot(pid).cpuSeconds - before.cpuSeconds < 5)
        #expect(try ProcessSnapshot(pid).rssBytes < 300 << 20)
    }

    /// Opens `target`'s event stream; returns the connection once the response's head and
    /// `until` came (or 30 s passed).
    func openStream(_ server: RunningServer, _ target: String, until: String = "\r\n\r\n") throws
        -> (RawConnection, Int)
    {
        let connection = try RawConnection(server.port)
        connection.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\r\n")
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(30)
        func done() -> Bool {
            let text = String(decoding: received, as: UTF8.self)
            return text.contains("\r\n\r\n") && (text.contains(until) || !text.hasPrefix("HTTP/1.1 200"))
        }
        while Date() < deadline, !done() {
            var p = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = recv(connection.fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            received.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: received, as: UTF8.self)
        return (connection, text.hasPrefix("HTTP/1.1 ") ? Int(text.dropFirst(9).prefix(3)) ?? 0 : 0)
    }

    /// The server's counters (`/api/server`): store reads and changes seen so far.
    func counters(_ server: RunningServer) throws -> (reads: Int, changes: Int, streams: Int) {
        let reply = try HTTP.get(server.port, "/api/server")
        let json = try #require(reply.json as? [String: Int], "\(reply.text)")
        return (json["store_reads"] ?? -1, json["store_changes"] ?? -1, json["event_streams"] ?? -1)
    }

    /// Starts training run 2 for longer than any test lasts (in the background, stopped with
    /// Ctrl-C by `stop()` at the end of the test), and returns once it has committed 2 epochs,
    /// paced from then on (`PacedTraining`).
    func trainInBackground(_ sandbox: Sandbox, _ server: RunningServer) throws -> PacedTraining {
        let training = sandbox.launch(["train", "--epochs", "1000000", "--val-size", "200", "--batch-size", "50"])
        training.standardOutput = FileHandle.nullDevice
        training.standardError = FileHandle.nullDevice
        try training.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try lastEpoch(server, 2) < 2 {
            Thread.sleep(forTimeInterval: 0.2)
        }
        return PacedTraining(training)
    }

    @Test func streamsOfAFinishedRunGoQuietAndAreBounded() throws {
        let (sandbox, server) = try served()
        defer { withExtendedLifetime(sandbox) {} }
        let pid = server.process.processIdentifier
        // Given 40 streams open on a finished run
        var streams: [RawConnection] = []
        for _ in 0..<40 {
            // (its first read done: the run's status came)
            let (stream, status) = try openStream(server, "/api/runs/1/events?status=1", until: "event: status")
            #expect(status == 200)
            streams.append(stream)
        }
        #expect(try counters(server).streams == 40)
        // While another run trains, so that the store changes all the time
        let training = try trainInBackground(sandbox, server)
        defer { training.stop() }

        // Then the 40 streams read the finished run together, once per 5 s at most for all of
        // them (a completed run can be resumed), where each used to read it on its own. (The
        // number of reads, not CPU time, which depends on the machine's load.)
        let start = try counters(server)
        Thread.sleep(forTimeInterval: 6)
        let end = try counters(server)
        #expect(end.changes - start.changes >= 2, "the store did not change: nothing to read")
        #expect(end.reads - start.reads <= 2, "\(end.reads - start.reads) reads in 6 s for 40 streams")
        #expect(training.isRunning, "the training ended early")
        #expect(answers(server))
        // And past 64 streams the next is refused with 503
        for _ in 40..<64 {
            let (stream, status) = try openStream(server, "/api/runs/events")
            #expect(status == 200)
            streams.append(stream)
        }
        let (_, refused) = try openStream(server, "/api/runs/1/events")
        #expect(refused == 503)
        #expect(answers(server))
        // And when their clients go, the server drops them, so new streams open again
        streams.removeAll()
        var reopened = 0
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, reopened != 200 {
            (_, reopened) = try openStream(server, "/api/runs/1/events")
            if reopened != 200 { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(reopened == 200, "dead clients' streams are held")
        let after = try ProcessSnapshot(pid)
        Thread.sleep(forTimeInterval: 2)
        #expect(try ProcessSnapshot(pid).cpuSeconds - after.cpuSeconds < 0.5)
        #expect(after.rssBytes < 300 << 20)
    }

    @Test func streamsOfARunningRunShareOneReadPerChange() throws {
        // Given a run training, and 40 streams open on it
        let (sandbox, server) = try served()
        defer { withExtendedLifetime(sandbox) {} }
        let training = try trainInBackground(sandbox, server)
        defer { training.stop() }
        var streams: [RawConnection] = []
        for _ in 0..<40 {
            let (stream, status) = try openStream(server, "/api/runs/2/events?status=1", until: "event: status")
            #expect(status == 200)
            streams.append(stream)
        }
        let opened = try lastEpoch(server, 2)

        // Then the store is read once per change it saw (and once a second, for a lease
        // that expires without a write) for all 40, not once per stream
        let before = try counters(server)
        Thread.sleep(forTimeInterval: 5)
        let after = try counters(server)
        let changes = after.changes - before.changes
        #expect(changes >= 2, "the store did not change: nothing to read")
        #expect(after.reads - before.reads <= changes + 6, "\(after.reads - before.reads) reads for \(changes) changes")
        #expect(training.isRunning, "the training ended early")

        // And every stream gets each epoch committed after they opened
        var last = try lastEpoch(server, 2)
        let committed = Date().addingTimeInterval(60)
        while Date() < committed, last <= opened {
            Thread.sleep(forTimeInterval: 0.2)
            last = try lastEpoch(server, 2)
        }
        let deadline = Date().addingTimeInterval(30)
        for stream in streams {
            var received = ""
            while Date() < deadline, !received.contains("id: \(last)\n") {
                received += String(decoding: stream.readUntilClosed(seconds: 0.2).data, as: UTF8.self)
            }
            #expect(received.contains("id: \(last)\n"), "a stream missed epoch \(last)")
        }
    }

    /// The run's last epoch recorded (0 for none).
    func lastEpoch(_ server: RunningServer, _ run: Int) throws -> Int {
        let summary = try HTTP.get(server.port, "/api/runs/\(run)").json as? [String: Any]
        return summary?["last_epoch"] as? Int ?? 0
    }

    @Test(.enabled(if: PostgresServer.isAvailable, Comment(rawValue: PostgresServer.unavailableReason)))
    func aStoppedDatabaseServerIs503ThenServedAgain() throws {
        // Given a server on a PostgreSQL store of its own database server
        let database = try PostgresServer.dedicated()
        let sandbox = try Sandbox(.postgres, server: database)
        try sandbox.train(["--epochs", "2"])
        let server = try RunningServer(sandbox)
        #expect(try HTTP.get(server.port, "/api/runs/1").status == 200)

        // When the database server stops
        try database.stop()

        // Then the API answers 503 with the reason as JSON, pages say so, and streams are
        // refused, each at once (the HTTP client would give up after 30 s)
        for target in ["/api/runs/1", "/api/runs", "/api/runs/1/epochs", "/api/runs/1/events"] {
            let reply = try HTTP.get(server.port, target)
            #expect(reply.status == 503, "\(target): \(reply.text)")
            let message = (reply.json as? [String: String])?["error"] ?? ""
            #expect(message.contains("Cannot"), "\(target): \(reply.text)")
            #expect(!message.contains(try #require(URLComponents(string: sandbox.database)?.password)))
        }
        let page = try HTTP.get(server.port, "/runs/1")
        #expect(page.status == 503 && page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.text.contains("<h1>503</h1>"), "\(page.text.prefix(500))")

        // And once it is back, the same requests are served again
        try database.start()
        #expect(answersAgain(server))
        #expect(try HTTP.get(server.port, "/api/runs/1").status == 200)
        #expect(try HTTP.get(server.port, "/runs/1").status == 200)
    }
}

/// A trainer let run a fifth of the time: SIGCONT, 50 ms, SIGSTOP, 200 ms, until `stop()`.
/// Flat out it took a core (two on a quiet machine) for as long as a test lasted, to make
/// the store change all the time; paced, it still commits several epochs a second, which is
/// all the tests need of it (a stream that read once per change would read hundreds of times).
/// A stopped trainer is still running, holding its run; the server only reads.
final class PacedTraining: @unchecked Sendable {
    let process: Process
    private let stopping = Mutex(false)
    private let stopped = DispatchSemaphore(value: 0)

    init(_ process: Process) {
        self.process = process
        Thread.detachNewThread { [self] in
            while !stopping.withLock({ $0 }) && process.isRunning {
                kill(process.processIdentifier, SIGCONT)
                Thread.sleep(forTimeInterval: 0.05)
                if process.isRunning { kill(process.processIdentifier, SIGSTOP) }
                Thread.sleep(forTimeInterval: 0.2)
            }
            if process.isRunning { kill(process.processIdentifier, SIGCONT) }
            stopped.signal()
        }
    }

    var isRunning: Bool { process.isRunning }

    /// Lets it run on (SIGCONT), then stops it with Ctrl-C and waits for it to exit.
    func stop() {
        stopping.withLock { $0 = true }
        _ = stopped.wait(timeout: .now() + 10)  // the pacing thread ends within 0.25 s
        process.interrupt()
        process.waitForExit()
    }
}
