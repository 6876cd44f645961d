import Foundation
import Synchronization
import TestSupport
import Testing

/// Finding runs by what they are: `runs --where … --sort … --sweep …`, `/api/runs` with the
/// same parameters, runs named by uid or uid prefix, and `compare` of many runs.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct RunSearchTests {
    /// Run 1 (lr 0.05, noted "baseline"), run 2 (lr 0.1), and a sweep of two (lr 0.2, 0.3).
    func store(_ kind: Sandbox.Store) throws -> Sandbox {
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "1", "--learning-rate", "0.05"])
        try sandbox.run(["note", "1", "the baseline run"])
        try sandbox.train(["--epochs", "1", "--learning-rate", "0.1"])
        let sweep = try sandbox.run([
            "sweep", "--learning-rate", "0.2,0.3", "--epochs", "1", "--val-size", "200",
            "--batch-size", "100",
        ])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        return sandbox
    }

    func ids(_ output: Output) throws -> [Int] {
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]],
            "\(output.status): \(output.stdout) \(output.stderr)")
        return rows.compactMap { $0["id"] as? Int }
    }

    @Test(arguments: Sandbox.Store.all)
    func whereAndSortReturnWhatTheSameSQLReturns(_ kind: Sandbox.Store) throws {
        // Given four runs, two of them a sweep's
        let sandbox = try store(kind)
        let expression = "learning_rate > 0.15 AND best_val_accuracy > 0 OR note LIKE '%baseline%'"

        // When runs searches them, and sql runs the query it documents as the same
        let searched = try sandbox.run([
            "runs", "--where", expression, "--sort", "learning_rate,desc", "--json",
        ])
        let queried = try sandbox.run([
            "sql", "--json",
            "SELECT * FROM run_summary WHERE (\(expression)) ORDER BY learning_rate IS NULL, learning_rate DESC, id DESC",
        ])

        // Then both give the same runs in the same order
        #expect(try ids(searched) == [4, 3, 1])
        #expect(try ids(searched) == ids(queried))
        // And the other filters and orders combine with it
        #expect(try ids(sandbox.run(["runs", "--sweep", "1", "--json"])) == [4, 3])
        #expect(try ids(sandbox.run(["runs", "--sweep", "1", "--sort", "learning_rate", "--json"])) == [3, 4])
        #expect(try ids(sandbox.run(["runs", "--where", "id < 3", "--status", "completed", "--json"])) == [2, 1])
        #expect(try ids(sandbox.run(["runs", "--sort", "best_val_loss", "--limit", "1", "--json"])).count == 1)
        #expect(try sandbox.run(["runs", "--where", "id > 100"]).stdout == "No run matches.\n")
        // And a comment in the expression ends at its line, not at the end of the query
        #expect(try ids(sandbox.run(["runs", "--where", "id = 2 -- only run 2", "--json"])) == [2])
    }

    @Test(arguments: Sandbox.Store.all)
    func whereCannotWriteOrRunASecondStatement(_ kind: Sandbox.Store) throws {
        // Given four runs
        let sandbox = try store(kind)

        // When --where tries a second statement, a write and a bad column
        let attempts = [
            "1 = 1); DELETE FROM runs; SELECT (1",
            "1 = 1); DROP TABLE epochs; SELECT (1",
            "id IN (SELECT id FROM runs) OR nosuch_column = 1",
        ] + (kind == .postgres ? ["nextval('runs_id_seq') > 0"] : [])
        for expression in attempts {
            let output = try sandbox.run(["runs", "--where", expression])

            // Then each is refused in one line, and the runs are all still there
            #expect(output.status != 0, "\(expression): \(output.stdout)")
            #expect(output.stderr.hasPrefix("Error: ") && output.stderr.split(separator: "\n").count == 1, "\(expression): \(output.stderr)")
            // as the database's sentence, then the advice
            #expect(
                output.stderr.contains(". --where takes a SQL expression") || output.stderr.contains("? --where takes")
                    || !output.stderr.contains("--where takes"), "\(expression): \(output.stderr)")
        }
        #expect(try ids(sandbox.run(["runs", "--json"])) == [4, 3, 2, 1])

        // And a sort column that run_summary lacks is one line, exit 64
        let badSort = try sandbox.run(["runs", "--sort", "nosuch"])
        expectOneLineError(badSort, status: 64, startingWith: "Cannot search the runs in ")
        #expect(badSort.stderr.contains("run_summary has no column nosuch; its columns are id, "), "\(badSort.stderr)")
        let badOrder = try sandbox.run(["runs", "--sort", "id,sideways"])
        expectOneLineError(badOrder, status: 64, startingWith: "The value 'id,sideways' is invalid")
        #expect(badOrder.stderr.contains("--sort takes a column of run_summary"), "\(badOrder.stderr)")
    }

    @Test(arguments: Sandbox.Store.all)
    func apiRunsTakesTheSameSearch(_ kind: Sandbox.Store) throws {
        // Given four runs and the dashboard on them
        let sandbox = try store(kind)
        let server = try RunningServer(sandbox)
        func ids(_ target: String) throws -> [Int] {
            let reply = try HTTP.get(server.port, target)
            #expect(reply.status == 200, "\(target): \(reply.text)")
            return (reply.json as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
        }

        // When /api/runs is searched as runs is, Then it answers the same runs
        let expression = "learning_rate%20%3E%200.15%20OR%20id%20%3D%201"
        #expect(try ids("/api/runs?where=\(expression)&sort=learning_rate,desc") == [4, 3, 1])
        #expect(try ids("/api/runs?sweep=1&sort=id") == [3, 4])
        #expect(try ids("/api/runs") == [4, 3, 2, 1])
        // And a write, a second statement or a bad column is a 400 with the reason
        for target in [
            "/api/runs?where=1%3D1)%3B%20DELETE%20FROM%20runs%3B%20SELECT%20(1",
            "/api/runs?sort=nosuch", "/api/runs?sort=id,sideways", "/api/runs?sweep=x",
        ] {
            let reply = try HTTP.get(server.port, target)
            #expect(reply.status == 400, "\(target): \(reply.status) \(reply.text)")
            #expect((reply.json as? [String: Any])?["error"] is String, "\(target): \(reply.text)")
        }
        #expect(try ids("/api/runs") == [4, 3, 2, 1])
    }

    /// Any web page can send `/api/runs?where=…` (a cross-origin GET needs no permission).
    @Test(arguments: Sandbox.Store.all)
    func endlessSearchesFromClientsAreStoppedAndBoundedInNumber(_ kind: Sandbox.Store) throws {
        // Given the dashboard on four runs
        let sandbox = try store(kind)
        let server = try RunningServer(sandbox)
        let endless =
            "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c) > 0"
        let target =
            "/api/runs?where=" + endless.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!

        // When four clients send an endless search at once
        let replies = Mutex<[HTTPReply]>([])
        let port = server.port
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            if let reply = try? HTTP.get(port, target) { replies.withLock { $0.append(reply) } }
        }

        // Then each running one is stopped at its time limit (400, saying so), the rest are
        // turned away while two run (503), and the dashboard still answers
        let statuses = replies.withLock { $0.map(\.status) }.sorted()
        #expect(statuses.count == 4 && statuses.allSatisfy { $0 == 400 || $0 == 503 }, "\(statuses)")
        #expect(statuses.filter { $0 == 400 }.count >= 2, "\(statuses)")
        for reply in replies.withLock({ $0 }) {
            let error = (reply.json as? [String: Any])?["error"] as? String ?? ""
            #expect(
                error.hasSuffix(reply.status == 400
                    ? "the statement ran for more than 2 s and was stopped."
                    : "2 searches are running already; try again when they have finished."), "\(reply.text)")
        }
        #expect(try HTTP.get(server.port, "/api/runs").status == 200)
        #expect(try ids(sandbox.run(["runs", "--json"])) == [4, 3, 2, 1])
    }

    @Test(arguments: Sandbox.Store.all)
    func runsAreNamedByUidOrUidPrefix(_ kind: Sandbox.Store) throws {
        // Given two runs and their uids
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "1"])
        try sandbox.train(["--epochs", "1", "--learning-rate", "0.2"])
        let uids = try sandbox.run(["sql", "--csv", "SELECT uid FROM runs ORDER BY id"]).lines.dropFirst()
        let second = try #require(uids.last)

        // When commands name run 2 by its whole uid, by a prefix, and in capitals
        let byID = try sandbox.run(["show", "2", "--json"])
        // (Thirteen characters hold a dash: digits alone would be an id.)
        for name in [second, String(second.prefix(13)), String(second.prefix(13)).uppercased()] {
            let shown = try sandbox.run(["show", name, "--json"])

            // Then they read run 2
            #expect(shown.status == 0 && shown.stdout == byID.stdout, "\(name): \(shown.stderr)")
        }
        let compared = try sandbox.run(["compare", String(uids.first?.prefix(9) ?? ""), String(second.prefix(9)), "--json"])
        #expect(try ids(compared) == [1, 2])
        #expect(try sandbox.run(["tag", second, "found-by-uid"]).status == 0)
        #expect(try ids(sandbox.run(["runs", "--tag", "found-by-uid", "--json"])) == [2])

        // And a prefix of no run, or one too short, is one line
        expectOneLineError(
            try sandbox.run(["show", "ffffffff-ffff"]), status: 1,
            startingWith: "No run's uid starts with ffffffff-ffff in this database")
        let tooShort = try sandbox.run(["show", "abc"])
        expectOneLineError(tooShort, status: 64, startingWith: "The value 'abc' is invalid")
        #expect(tooShort.stderr.contains("a run is its id"), "\(tooShort.stderr)")
    }

    @Test(.enabled(if: sqlite3Program != nil, "needs the sqlite3 program to give two runs uids that share a prefix"))
    func ambiguousUidPrefixNamesTheCandidates() throws {
        // Given two runs whose uids share their first eight digits
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        try sandbox.train(["--epochs", "1"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(sqlite3Program))
        process.arguments = [
            sandbox.database,
            "UPDATE runs SET uid = 'abcd1234-0000-4000-8000-00000000000' || id",
        ]
        try process.run()
        process.waitForExit()

        // When a command is given that prefix
        let output = try sandbox.run(["show", "abcd1234"])

        // Then one line names both, exit 64
        expectOneLineError(
            output, status: 64,
            startingWith: "The uid prefix abcd1234 matches 2 runs: run 1 (abcd1234-0000-4000-8000-000000000001), run 2 (abcd1234-0000-4000-8000-000000000002); give more of the uid, or the id.")
        #expect(try sandbox.run(["show", "abcd1234-0000-4000-8000-000000000002"]).status == 0)
    }

    @Test func compareOfTwentyRunsIsOneLineARun() throws {
        // Given a sweep of 20 seeds
        let sandbox = try Sandbox()
        let seeds = (1...20).map(String.init).joined(separator: ",")
        let sweep = try sandbox.run([
            "sweep", "--seed", seeds, "--epochs", "1", "--val-size", "200", "--batch-size", "100",
            "--parallel", "2",
        ])
        #expect(sweep.status == 0, "\(sweep.stderr)")

        // When all 20 are compared
        let output = try sandbox.run(["compare"] + (1...20).map(String.init))

        // Then each run is a row, and the columns are the settings that differ and the metrics
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines.count == 21, "\(output.stdout)")
        #expect(columnLabels(output.lines[0]).prefix(4) == ["run", "name", "seed", "epochs done"], "\(output.lines[0])")
        #expect(!output.stdout.contains("uid"))
        let firstCells: [String] = output.lines.dropFirst().map { String($0.split(separator: " ")[0]) }
        #expect(firstCells == (1...20).map { String($0) })
    }
}
