import Foundation
import TestSupport
import Testing

/// `runs`, `show`, `best`, `compare` and `sql` on a database with two finished runs.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct QueryTests {
    let sandbox: Sandbox

    init() throws {
        sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3", "--name", "slow", "--learning-rate", "0.05"])
        try sandbox.train(["--epochs", "3", "--name", "fast", "--learning-rate", "0.5"])
    }

    func json(_ arguments: [String]) throws -> Any {
        let output = try sandbox.run(arguments + ["--json"])
        #expect(output.status == 0, "\(output.stderr)")
        return try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    }

    @Test func runsListsNewestFirstWithTheirBestEpoch() throws {
        let runs = try #require(try json(["runs"]) as? [[String: Any]])
        #expect(runs.map { $0["name"] as? String } == ["fast", "slow"])
        #expect(runs.allSatisfy { ($0["best_epoch"] as? Int) != nil && ($0["epochs_done"] as? Int) == 3 })
        let table = try sandbox.run(["runs", "--status", "completed", "--limit", "1"])
        #expect(table.lines.count == 2 && table.lines[1].contains("fast"))
    }

    @Test func bestAgreesWithTheSummaryView() throws {
        let best = try #require(try json(["best", "1"]) as? [[String: Any]])
        // Both sides go through the same JSON encoding, so the numbers compare exactly.
        let view = try #require(
            try json(["sql", "SELECT best_epoch, best_val_loss FROM run_summary WHERE id = 1"])
                as? [[String: Any]])
        #expect(best[0]["epoch"] as? Int == view[0]["best_epoch"] as? Int)
        #expect(best[0]["val_loss"] as? Double == view[0]["best_val_loss"] as? Double)
        // Without ids: the run with the lowest best validation loss overall.
        let overall = try #require(try json(["best"]) as? [[String: Any]])
        let lowest = try sandbox.run(["sql", "--csv", "SELECT id FROM run_summary ORDER BY best_val_loss LIMIT 1"])
        #expect(overall.count == 1 && overall[0]["run_id"] as? Int == Int(lowest.lines[1]))
    }

    @Test func showMarksTheBestEpoch() throws {
        let output = try sandbox.run(["show", "2"])
        let best = try sandbox.run(["sql", "--csv", "SELECT best_epoch FROM run_summary WHERE id = 2"]).lines[1]
        let marked = output.lines.filter { $0.hasPrefix("*") }
        #expect(marked.count == 2)  // the row and the legend
        #expect(marked[0].split(separator: " ")[1] == best)
        #expect(output.stdout.contains("learning rate  0.5"))
    }

    @Test func compareShowsOnlyTheSettingsThatDiffer() throws {
        let output = try sandbox.run(["compare", "1", "2"])
        #expect(output.status == 0)
        // One row a run, one column a setting or metric
        #expect(output.lines.count == 3, "\(output.stdout)")
        let labels = columnLabels(output.lines[0])
        #expect(labels.contains("learning rate") && labels.contains("name"))
        #expect(!labels.contains("hidden") && !labels.contains("seed"))
        #expect(labels.contains("best val loss"))
    }

    @Test func sqlPrintsTablesCSVAndJSON() throws {
        let query = "SELECT id, name, learning_rate FROM runs ORDER BY id"
        #expect(try sandbox.run(["sql", query]).lines == [
            "id  name  learning_rate", " 1  slow           0.05", " 2  fast            0.5",
        ])
        #expect(try sandbox.run(["sql", "--csv", query]).lines == ["id,name,learning_rate", "1,slow,0.05", "2,fast,0.5"])
        let rows = try #require(try json(["sql", query]) as? [[String: Any]])
        #expect(rows.map { $0["name"] as? String } == ["slow", "fast"])
    }

    @Test func sqlStatementMayStartWithAComment() throws {
        let query = "-- the runs, oldest first\nSELECT id, name FROM runs ORDER BY id"
        for flags in [[], ["--csv"], ["--db", sandbox.database, "--csv"]] {
            let output = try sandbox.run(["sql"] + flags + [query])
            #expect(output.status == 0, "\(flags): \(output.stderr)")
            #expect(output.lines.last?.contains("fast") == true, "\(flags): \(output.stdout)")
        }
        let unquoted = try sandbox.run(["sql", "SELECT", "1"])
        #expect(unquoted.status == 64)
        #expect(unquoted.stderr == "Error: Give the SQL statement as one argument, in quotes; got 2: 'SELECT', '1'.\n")
    }

    @Test func sqlJSONKeepsEveryColumnInOrder() throws {
        // Given the README's join, which repeats run_summary's and evaluations' column names
        let query = "SELECT s.id, s.name, e.epoch, s.id, s.name, 1e999 AS big, x'00ff' AS b FROM run_summary s JOIN epochs e ON e.run_id = s.id WHERE s.id = 1 AND e.epoch = 1"

        // When it is printed as JSON, CSV and a table
        let json = try sandbox.run(["sql", "--json", query])
        let csv = try sandbox.run(["sql", "--csv", query])
        let table = try sandbox.run(["sql", query])

        // Then every column is there in SELECT order, a repeat suffixed, infinity null, the
        // blob in hexadecimal
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout == """
            [
              {
                "id" : 1,
                "name" : "slow",
                "epoch" : 1,
                "id_2" : 1,
                "name_2" : "slow",
                "big" : null,
                "b" : "00FF"
              }
            ]

            """)
        #expect(csv.lines == ["id,name,epoch,id,name,big,b", "1,slow,1,1,slow,inf,00FF"])
        #expect(table.lines.last?.hasSuffix("inf  00FF") == true, "\(table.stdout)")
        let all = try sandbox.run([
            "sql", "--json", "SELECT * FROM run_summary s JOIN epochs e ON e.run_id = s.id",
        ])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) is [[String: Any]])
    }

    @Test func pragmaFunctionsCanBeQueried() throws {
        let output = try sandbox.run(["sql", "--csv", "SELECT name FROM pragma_table_info('runs') LIMIT 2"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines == ["name", "id", "name"])
    }

    @Test func controlCharactersInANameDoNotBreakTables() throws {
        // Given a run renamed by another program to a name with a newline and a tab
        guard let sqlite3 = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sqlite3)
        process.arguments = [
            sandbox.database,
            "UPDATE runs SET name = 'two' || char(10) || 'lines' || char(9) || 'x' WHERE id = 1",
        ]
        try process.run()
        process.waitForExit()
        #expect(process.terminationStatus == 0)

        // Then every table keeps one line per row, with the characters escaped
        let runs = try sandbox.run(["runs"])
        #expect(runs.lines.count == 3, "\(runs.stdout)")
        #expect(runs.stdout.contains("two\\nlines\\tx"))
        let show = try sandbox.run(["show", "1"])
        #expect(show.lines.first?.hasSuffix(" 1 (two\\nlines\\tx)") == true, "\(show.stdout)")
        let sql = try sandbox.run(["sql", "SELECT id, name FROM runs"])
        #expect(sql.lines.count == 3, "\(sql.stdout)")
    }

    @Test func dbStatusCountsWhatIsStored() throws {
        let status = try #require(try json(["db", "status"]) as? [String: Any])
        #expect(status["runs"] as? Int == 2 && status["epochs"] as? Int == 6)
        #expect((status["migrations"] as? [Any])?.isEmpty == false)
    }
}
