import Datasets
import Foundation
import Prediction
import TestSupport
import Testing

/// `mnistlab serve` over real HTTP on a free loopback port: every endpoint, bad input
/// included, and the event streams while a run trains; each on SQLite and on PostgreSQL.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ServeTests {
    /// Two runs (the first with a name that needs escaping) and a sweep of two.
    func store(_ kind: Sandbox.Store) throws -> Sandbox {
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "3", "--name", "<b>bold</b>"])
        try sandbox.train(["--epochs", "2", "--learning-rate", "0.3"])
        try sandbox.run(["sweep", "--learning-rate", "0.1,0.2", "--epochs", "1", "--val-size", "200"])
        return sandbox
    }

    func object(_ reply: HTTPReply) throws -> [String: Any] {
        try #require(reply.json as? [String: Any], "\(reply.status) \(reply.text)")
    }

    /// What the store holds, to prove the server wrote nothing: the SQLite file's bytes, or
    /// every row of every table of the PostgreSQL database.
    func contents(_ sandbox: Sandbox) throws -> String {
        switch sandbox.store {
        case .sqlite:
            return fileBytes(sandbox.database)?.base64EncodedString() ?? ""
        case .postgres:
            let database = try #require(URLComponents(string: sandbox.database)?.path.dropFirst())
            let tables = [
                "schema_migrations", "runs", "epochs", "checkpoints", "evaluations", "confusion",
                "sweeps", "run_stats", "run_tags", "trials",
            ]
            let sql = tables.map {
                "(SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM \($0) AS t)"
            }.joined(separator: " || ")
            return try PostgresServer.shared.psql("SELECT \(sql)", database: String(database))
        }
    }

    @Test(arguments: Sandbox.Store.all) func jsonAPIServesTheStore(_ kind: Sandbox.Store) throws {
        // Given a store and a server on it
        let sandbox = try store(kind)
        let before = try contents(sandbox)
        let server = try RunningServer(sandbox)

        // When the API is asked for runs, a run, its epochs and a sweep
        let runs = try HTTP.get(server.port, "/api/runs")
        let run = try HTTP.get(server.port, "/api/runs/1")
        let epochs = try HTTP.get(server.port, "/api/runs/1/epochs")
        let sweep = try HTTP.get(server.port, "/api/sweeps/1")

        // Then runs are `runs --json`'s rows, and the rest match the store
        #expect(runs.status == 200 && runs.headers["content-type"]?.hasPrefix("application/json") == true)
        let cli = try sandbox.run(["runs", "--json"])
        let expected = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? NSArray
        #expect((runs.json as? NSArray) == expected)
        #expect((runs.json as? [Any])?.count == 4)
        #expect(try object(run)["name"] as? String == "<b>bold</b>")
        #expect(try object(run)["best_epoch"] != nil)
        let rows = try #require(epochs.json as? [[String: Any]])
        #expect(rows.map { $0["epoch"] as? Int } == [1, 2, 3])
        #expect(rows.allSatisfy { $0["val_loss"] is Double && $0["run_id"] as? Int == 1 })
        let sweepObject = try object(sweep)
        #expect(sweepObject["size"] as? Int == 2)
        #expect((sweepObject["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }.sorted() == [3, 4])

        // And the server wrote nothing, and Ctrl-C stops it
        #expect(try contents(sandbox) == before)
        #expect(server.stop() != 0 || !server.process.isRunning)
    }

    @Test(arguments: Sandbox.Store.all) func badRequestsGetJSONErrors(_ kind: Sandbox.Store) throws {
        let sandbox = try store(kind)
        let server = try RunningServer(sandbox)
        let cases: [(String, String, Int, String)] = [
            ("GET", "/api/runs/x", 400, "A run id is a positive integer; got 'x'."),
            ("GET", "/api/runs/0", 400, "A run id is a positive integer; got '0'."),
            ("GET", "/api/runs/99", 404, "There is no run 99."),
            ("GET", "/api/runs/99/epochs", 404, "There is no run 99."),
            ("GET", "/api/runs/99/events", 404, "There is no run 99."),
            ("GET", "/api/runs/1/events?after=x", 400, "after must be an epoch number; got 'x'."),
            ("GET", "/api/runs/1/events?status=yes", 400, "status must be 1 (send status changes) or 0; got 'yes'."),
            ("GET", "/api/runs/events?after=-1", 400, "after must be a run id; got '-1'."),
            ("GET", "/api/runs/events/2", 404, "No such page: /api/runs/events/2"),
            ("GET", "/api/sweeps/9", 404, "There is no sweep 9."),
            ("GET", "/api/nothing", 404, "No such page: /api/nothing"),
            ("GET", "/api/runs/1/epochs/2", 404, "No such page: /api/runs/1/epochs/2"),
            ("DELETE", "/api/runs/1", 405, "Method DELETE is not allowed here."),
            ("POST", "/api/runs", 404, "No such page: /api/runs"),
            ("POST", "/api/runs/1/predict?epoch=soon", 400,
             "epoch must be best, last or an epoch number; got 'soon'."),
        ]
        for (method, target, status, message) in cases {
            let reply = try HTTP.request(server.port, method, target, body: Data([1]))
            #expect(reply.status == status, "\(method) \(target): \(reply.text)")
            #expect(reply.headers["content-type"]?.hasPrefix("application/json") == true)
            #expect((reply.json as? [String: String])?["error"] == message, "\(target): \(reply.text)")
        }
        // Pages answer in HTML, with a 404 for what is not there.
        let page = try HTTP.get(server.port, "/nothing/here")
        #expect(page.status == 404 && page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(try HTTP.get(server.port, "/runs/99").status == 404)
        #expect(try HTTP.get(server.port, "/compare?runs=1,x").status == 400)
        #expect(try HTTP.get(server.port, "/compare").status == 400)
        #expect(try HTTP.get(server.port, "/sweeps/7").status == 404)
        // No SQL from the client runs anywhere: a query string is only ever a parameter.
        let injected = try HTTP.get(server.port, "/api/runs/1%20OR%201=1")
        #expect(injected.status == 400)
    }

    @Test(arguments: Sandbox.Store.all) func predictClassifiesRawPixelsAndPNG(_ kind: Sandbox.Store) throws {
        // Given a trained run and one test digit as raw bytes and as a PNG
        let sandbox = try store(kind)
        let server = try RunningServer(sandbox)
        let images = try IDXArray.read(path: smallMNIST + "/t10k-images-idx3-ubyte", rank: 3)
        let digit = Array(images.bytes[0..<784])
        let png = GrayImage(width: 28, height: 28, pixels: digit).png()
        let file = sandbox.directory.appendingPathComponent("digit.png")
        try Data(png).write(to: file)

        // When both are posted, and predict classifies the same file
        let raw = try object(HTTP.request(server.port, "POST", "/api/runs/1/predict", body: Data(digit)))
        let viaPNG = try object(
            HTTP.request(server.port, "POST", "/api/runs/1/predict?epoch=last", body: Data(png)))
        let cli = try sandbox.run(["predict", "1", file.path, "--json"])
        let expected = try #require(
            (try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [[String: Any]])?.first)

        // Then all agree: label, probabilities and the best epoch (3) or the last
        #expect(raw["label"] as? Int == expected["label"] as? Int)
        #expect(raw["probabilities"] as? [Double] == expected["probabilities"] as? [Double])
        #expect(raw["epoch"] as? Int == 3 && viaPNG["epoch"] as? Int == 3)
        #expect(viaPNG["label"] as? Int == expected["label"] as? Int)
        let probabilities = try #require(raw["probabilities"] as? [Double])
        #expect(probabilities.count == 10 && abs(probabilities.reduce(0, +) - 1) < 1e-4)

        // And bad bodies, epochs and runs are refused in one line
        let cases: [(String, Data, Int, String)] = [
            ("/api/runs/1/predict", Data("hello".utf8), 400,
             "The body must be 784 raw bytes (28×28) or a PNG; not a PNG or PGM image."),
            ("/api/runs/1/predict", Data(png.prefix(40)), 400, ""),
            ("/api/runs/1/predict", Data(), 400, ""),
            ("/api/runs/1/predict", Data(count: 2_000_000), 413, ""),
            ("/api/runs/1/predict?epoch=9", Data(digit), 404,
             "Run 1 has no epoch 9; its last recorded epoch is 3."),
            ("/api/runs/8/predict", Data(digit), 404, "There is no run 8."),
        ]
        for (target, body, status, message) in cases {
            let reply = try HTTP.request(server.port, "POST", target, body: body)
            #expect(reply.status == status, "\(target) \(body.count): \(reply.text)")
            let error = (reply.json as? [String: String])?["error"]
            #expect(error != nil && (message.isEmpty || error == message), "\(reply.text)")
        }
    }

    @Test(arguments: Sandbox.Store.all) func eventStreamPushesEpochsAsTheyCommit(_ kind: Sandbox.Store) throws {
        // Given a run of 2 epochs, and a server streaming its events after epoch 2
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "2", "--keep-every", "1"])
        let server = try RunningServer(sandbox)
        let done = openStream(server.port, "/api/runs/1/events?after=2", seconds: 60) {
            $0.contains("id: 6\n")
        }

        // When the run is resumed to epoch 6 while the stream is open
        let resumed = try sandbox.run(["resume", "1", "--epochs", "6"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let text = done.wait(seconds: 30)

        // Then the stream carried epochs 3 to 6, each once and in order, as JSON
        let head = try HTTP.parse(Data(text.utf8))
        #expect(head.status == 200)
        #expect(head.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        let lines = head.text.components(separatedBy: "\n")
        let ids = lines.filter { $0.hasPrefix("id: ") }
        #expect(ids == ["id: 3", "id: 4", "id: 5", "id: 6"], "\(text)")
        let data = lines.filter { $0.hasPrefix("data: ") }
        let epochs = data.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]
        }
        #expect(epochs.map { $0["epoch"] as? Int } == [3, 4, 5, 6])
        #expect(epochs.allSatisfy { $0["val_loss"] is Double && $0["run_id"] as? Int == 1 })
        // Nothing but epochs unless status changes are asked for
        #expect(!lines.contains { $0.hasPrefix("event:") }, "\(text)")

        // And a stream from the start replays every epoch (a page opened late, or a reconnect)
        let replay = try HTTP.stream(server.port, "/api/runs/1/events") { $0.contains("id: 6\n") }
        let replayed = try HTTP.parse(Data(replay.utf8)).text.components(separatedBy: "\n")
        #expect(replayed.filter { $0.hasPrefix("id: ") }.count == 6)
        // A reconnecting EventSource sends the last id it saw.
        let reconnected = try HTTP.stream(
            server.port, "/api/runs/1/events", headers: ["Last-Event-ID": "4"]
        ) { $0.contains("id: 6\n") }
        let again = try HTTP.parse(Data(reconnected.utf8)).text.components(separatedBy: "\n")
        #expect(again.filter { $0.hasPrefix("id: ") } == ["id: 5", "id: 6"])
    }

    @Test(arguments: Sandbox.Store.all) func statusEventsFollowARunThatStopsWithoutAnEpoch(_ kind: Sandbox.Store) throws {
        // Given a run being trained, and a stream of its epochs and status changes opened
        // after the epochs it will ever reach
        let sandbox = try Sandbox(kind)
        let trainer = try trainUntilKilled(sandbox)
        defer { trainer.send(SIGKILL) }
        let server = try RunningServer(sandbox)
        let done = openStream(server.port, "/api/runs/1/events?status=1&after=100000", seconds: 60) {
            $0.contains(#"{"status":"interrupted"}"#)
        }
        #expect(done.wait(until: { $0.contains(#"{"status":"running"}"#) }, seconds: 30))

        // When its process is killed, so that it records no further epoch
        trainer.send(SIGKILL)
        #expect(trainer.wait() == .signal(SIGKILL))

        // Then the stream says so: running at first, then interrupted, each once
        let text = done.wait(seconds: 30)
        let events = try HTTP.parse(Data(text.utf8)).text.components(separatedBy: "\n\n")
            .filter { $0.contains("event: status") }
        #expect(
            events == [
                "event: status\ndata: {\"status\":\"running\"}",
                "event: status\ndata: {\"status\":\"interrupted\"}",
            ], "\(text)")
        #expect(!text.contains("id: "), "no epoch after 100000: \(text)")
    }

    @Test(arguments: Sandbox.Store.all) func pagesEscapeAndLink(_ kind: Sandbox.Store) throws {
        let sandbox = try store(kind)
        let server = try RunningServer(sandbox)
        let index = try HTTP.get(server.port, "/")
        #expect(index.status == 200 && index.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(index.text.contains("&lt;b&gt;bold&lt;/b&gt;") && !index.text.contains("<b>bold"))
        #expect(index.text.contains("<a href=\"/runs/1\">1</a>"))
        #expect(index.text.contains("<a href=\"/sweeps/1\">1</a>"))
        let run = try HTTP.get(server.port, "/runs/1")
        #expect(run.status == 200)
        #expect(run.text.components(separatedBy: "<svg class=\"chart\"").count == 3)
        #expect(run.text.contains("data-last-epoch=\"3\"") && run.text.contains("<canvas id=\"canvas\""))
        #expect(!run.text.contains("<b>bold"))
        let section = try HTTP.get(server.port, "/runs/1/section")
        #expect(section.text.hasPrefix("<section class=\"run\" id=\"run-1\">"))
        let compare = try HTTP.get(server.port, "/compare?runs=1,2")
        #expect(compare.status == 200 && compare.text.contains("<h2>Settings that differ</h2>"))
        #expect(compare.text.contains("<tr><th>learning_rate</th><td>0.1</td><td>0.3</td></tr>"))
        let sweep = try HTTP.get(server.port, "/sweeps/1")
        #expect(sweep.status == 200 && sweep.text.contains("<svg class=\"parallel\""))
        // A line per trial in the plot of each metric (best validation loss and accuracy).
        #expect(sweep.text.components(separatedBy: "<polyline class=\"trial\"").count == 5)
        // Nothing is fetched from elsewhere: no CDN, no external script or font.
        for page in [index, run, compare, sweep] {
            let external = page.text.range(
                of: #"(src|href|action)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import"#,
                options: .regularExpression)
            #expect(external == nil)
        }
    }

    /// The `data:` objects of an event stream's text.
    func events(_ text: String) throws -> [[String: Any]] {
        try HTTP.parse(Data(text.utf8)).text.components(separatedBy: "\n")
            .filter { $0.hasPrefix("data: ") }
            .map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))
                return try #require(object as? [String: Any], "\(line)")
            }
    }

    @Test(arguments: Sandbox.Store.all) func runsStreamPushesStatusAndProgressOfChangedRows(_ kind: Sandbox.Store) throws {
        // Given a finished run, and the runs table's stream opened after it
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "1", "--name", "<b>old</b>"])
        let server = try RunningServer(sandbox)
        let done = openStream(server.port, "/api/runs/events?after=1", seconds: 60) {
            $0.contains(#"data-status=\"completed\""#) && $0.contains(#"3 / 3"#)
        }

        // When a new run trains 3 epochs while the stream is open
        let trained = try sandbox.train(["--epochs", "3", "--name", "<i>new</i>"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let text = done.wait(seconds: 30)

        // Then the stream carried only run 2's row, each change once, ending completed 3 / 3
        let head = try HTTP.parse(Data(text.utf8))
        #expect(head.status == 200 && head.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        let changes = try events(text)
        #expect(!changes.isEmpty && changes.allSatisfy { $0["id"] as? Int == 2 }, "\(text)")
        let rows = changes.compactMap { $0["row"] as? String }
        #expect(Set(rows).count == rows.count, "a row sent twice: \(rows)")
        let last = try #require(rows.last)
        #expect(last.hasPrefix(#"<tr data-id="2" data-status="completed" "#))
        #expect(last.contains("3 / 3<span class=\"progress\" title=\"100%\">"))
        #expect(last.contains("&lt;i&gt;new&lt;/i&gt;") && !last.contains("<i>new"))
        // And the row is the one the page now lists
        #expect(try HTTP.get(server.port, "/").text.contains(last))

        // And a stream opened before any run the page knew of sends the runs at once, and a
        // run deleted while it is open as an empty row
        let gone = openStream(server.port, "/api/runs/events?after=0") { $0.contains(#""row":"""#) }
        #expect(gone.wait(until: { $0.contains(#"{"id":2,"#) }, seconds: 30))
        let removed = try sandbox.run(["rm", "2"])
        #expect(removed.status == 0, "\(removed.stderr)")
        let all = try events(gone.wait(seconds: 30))
        #expect(all.compactMap { $0["id"] as? Int } == [1, 2, 2], "\(all)")
        #expect(all.last?["row"] as? String == "")
    }

    @Test(arguments: Sandbox.Store.all) func evaluationsShowTheTestImagesTheyGotWrong(_ kind: Sandbox.Store) throws {
        // Given a run evaluated on the test set
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "1"])
        let evaluated = try sandbox.run(["evaluate", "1", "--json"])
        let evaluation = try #require(
            try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any],
            "\(evaluated.stderr)")
        let confusion = try #require(evaluation["confusion"] as? [[Int]])
        var wrong = 0
        for (t, row) in confusion.enumerated() { wrong += row.reduce(0, +) - row[t] }
        #expect(wrong > 0, "a 1-epoch run on 1,200 images gets some of 100 wrong")
        let server = try RunningServer(sandbox)

        // When its page is asked for
        let page = try HTTP.get(server.port, "/runs/1")

        // Then the heat-map is followed by exactly the images it got wrong, each captioned
        #expect(page.status == 200)
        #expect(page.text.contains("<table class=\"confusion\">"))
        #expect(page.text.contains("\(wrong) of 100 test images classified wrongly"))
        #expect(page.text.components(separatedBy: "<figure class=\"wrong\"").count == wrong + 1)
        #expect(page.text.contains("src=\"data:image/png;base64,iVBORw0KGgo"))
        // And the section the page swaps in live has them too
        let section = try HTTP.get(server.port, "/runs/1/section")
        #expect(section.text.components(separatedBy: "<figure class=\"wrong\"").count == wrong + 1)
    }

    @Test func missingTestImagesAreOneLineOnThePageNotAFailure() throws {
        // Given a run trained and evaluated on a copy of the data, which is then removed
        let sandbox = try Sandbox()
        let copy = sandbox.directory.appendingPathComponent("mnist")
        try FileManager.default.copyItem(atPath: smallMNIST, toPath: copy.path)
        try sandbox.train(["--epochs", "1", "--data", copy.path])
        #expect(try sandbox.run(["evaluate", "1"]).status == 0)
        try FileManager.default.removeItem(at: copy)
        let nowhere = sandbox.directory.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: nowhere, withIntermediateDirectories: true)

        // When it is served with no data anywhere the server looks
        let server = try RunningServer(sandbox, environment: ["MNISTLAB_DATA": nowhere])
        let page = try HTTP.get(server.port, "/runs/1")

        // Then the page is served, heat-map and all, with one line saying why
        #expect(page.status == 200)
        #expect(page.text.contains("<table class=\"confusion\">") && !page.text.contains("<div class=\"wrong-grid\">"))
        #expect(page.text.contains(
            "Test images it got wrong: no MNIST test set (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) in \(copy.path); `mnistlab serve --data DIR` names a directory with the run&#39;s MNIST files."),
            "\(page.text)")
        #expect(try HTTP.get(server.port, "/api/runs/1").status == 200)

        // And --data names where they are now
        let found = try RunningServer(sandbox, ["--data", smallMNIST], environment: ["MNISTLAB_DATA": nowhere])
        #expect(try HTTP.get(found.port, "/runs/1").text.contains("<div class=\"wrong-grid\">"))
        // A --data without the files is refused in one line before serving.
        let bad = try sandbox.run(["serve", "--port", "0", "--data", nowhere])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("Error: Cannot find "), "\(bad.stderr)")
    }

    // MARK: - PostgreSQL

    @Test(.enabled(if: PostgresServer.isAvailable, Comment(rawValue: PostgresServer.unavailableReason)))
    func thePasswordNeverAppears() throws {
        // Given a PostgreSQL store served with its URL's password
        let sandbox = try store(.postgres)
        let password = try PostgresServer.shared.password
        #expect(sandbox.database.contains(password))
        try sandbox.run(["evaluate", "1"])
        let server = try RunningServer(sandbox)

        // Then the banner shows the URL without it, and so does every page and answer
        #expect(server.banner.hasPrefix("Serving postgres://") && !server.banner.contains(password), "\(server.banner)")
        let targets = [
            "/", "/runs/1", "/runs/1/section", "/compare?runs=1,2", "/sweeps/1", "/runs/99",
            "/api/runs", "/api/runs/1", "/api/runs/1/epochs", "/api/sweeps/1", "/api/runs/99", "/api/server",
            "/nothing",
        ]
        for target in targets {
            let reply = try HTTP.get(server.port, target)
            #expect(reply.status != 0 && !reply.text.contains(password), "\(target)")
        }
        #expect(try HTTP.get(server.port, "/").text.contains("from postgres://mnistlab@127.0.0.1:"))
    }

    @Test(.enabled(if: PostgresServer.isAvailable, Comment(rawValue: PostgresServer.unavailableReason)))
    func aServerRestartDoesNotStopServe() throws {
        // Given a server on a PostgreSQL store (a database server of its own: restarting the
        // shared one would cut off the tests running beside), and a run's event stream open
        let database = try PostgresServer.dedicated()
        let sandbox = try Sandbox(.postgres, server: database)
        try sandbox.train(["--epochs", "2", "--keep-every", "1"])
        let server = try RunningServer(sandbox)
        #expect(try HTTP.get(server.port, "/api/runs/1").status == 200)
        let done = openStream(server.port, "/api/runs/1/events?after=2", seconds: 90) {
            $0.contains("id: 4\n")
        }

        // When the database server restarts (every session cut off)
        try database.restart()

        // Then serve is still there, and the next request works
        #expect(server.process.isRunning)
        let after = try HTTP.get(server.port, "/api/runs/1")
        #expect(after.status == 200, "\(after.text)")
        #expect(try HTTP.get(server.port, "/runs/1").status == 200)
        // And the open stream carries the epochs recorded after the restart
        let resumed = try sandbox.run(["resume", "1", "--epochs", "4"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let ids = try HTTP.parse(Data(done.wait(seconds: 60).utf8)).text
            .components(separatedBy: "\n").filter { $0.hasPrefix("id: ") }
        #expect(ids == ["id: 3", "id: 4"])
    }

    @Test func serveRefusesWhatItCannotServe() throws {
        let sandbox = try Sandbox()
        let missing = try sandbox.run(["serve", "--port", "0"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("Error: No database at "))
        try sandbox.train(["--epochs", "1"])
        let host = try sandbox.run(["serve", "--port", "0", "--host", "example.com"])
        #expect(host.stderr == "Error: --host must be an IPv4 or IPv6 address, or localhost; got 'example.com'.\n")
        for (given, shown) in [("70000", "70000"), ("-1", "-1")] {
            let port = try sandbox.run(["serve", "--port", given])
            #expect(port.status == 64 && port.stderr.contains("Port must be from 0 to 65535; got \(shown)."), "\(port.stderr)")
        }
        // A port another server holds, and an address that is not this machine's
        let server = try RunningServer(sandbox)
        let taken = try sandbox.run(["serve", "--port", "\(server.port)"])
        #expect(
            taken.status == 1 && taken.stderr == "Error: Cannot serve on 127.0.0.1 port \(server.port): another "
                + "program listens there; pick another --port (0 picks a free one).\n", "\(taken.stderr)")
        let foreign = try sandbox.run(["serve", "--port", "0", "--host", "192.0.2.1"])
        #expect(foreign.status == 1 && foreign.stderr.contains("no network interface of this machine has that address"), "\(foreign.stderr)")
        #expect(try HTTP.get(server.port, "/api/runs/1").status == 200)
    }
}

/// Reads `target`'s event stream on a thread of its own until `done` holds for what has
/// arrived (or `seconds` pass); returns once the stream has opened (its first comment came).
func openStream(
    _ port: Int, _ target: String, seconds: Double = 60,
    until done: @escaping @Sendable (String) -> Bool
) -> StreamBox {
    let box = StreamBox()
    Thread {
        let text = try? HTTP.stream(port, target, seconds: seconds) {
            box.update($0)
            return done($0)
        }
        box.set(text ?? "")
    }.start()
    _ = box.wait(until: { $0.contains("\r\n\r\n") && $0.contains(": stream of") }, seconds: 30)
    return box
}

/// The text a reader thread saw, so far and in the end, handed back to the test.
final class StreamBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var text: String?
    private var partial = ""

    func update(_ value: String) {
        condition.lock()
        partial = value
        condition.broadcast()
        condition.unlock()
    }

    func set(_ value: String) {
        condition.lock()
        text = value
        partial = value
        condition.broadcast()
        condition.unlock()
    }

    /// Whether what has arrived so far satisfies `check` within `seconds`.
    func wait(until check: (String) -> Bool, seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while !check(partial) && text == nil && condition.wait(until: deadline) {}
        return check(partial)
    }

    /// The whole text once the reader is done.
    func wait(seconds: Double) -> String {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(seconds)
        while text == nil && condition.wait(until: deadline) {}
        return text ?? ""
    }
}
