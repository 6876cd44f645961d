import Foundation
import Prediction
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the PostgreSQL suites run (see `PostgresServer.isAvailable`).
let postgresAvailable = PostgresServer.isAvailable

/// Every subcommand through the real binary against a database of its own on the test
/// PostgreSQL server, as a user who keeps their runs there would use it. The SQLite
/// behaviour the other CLI tests pin is the reference: the same commands, flags and words.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct PostgresCLITests {
    let password = (try? PostgresServer.shared.password) ?? "?"
    /// The latest migration (Migrations/postgres/), which a new database is migrated to.
    static let schemaVersion = 15

    /// Nothing a command printed holds the URL's password.
    func expectNoPassword(_ output: Output, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!output.stdout.contains(password), "\(output.stdout)", sourceLocation: sourceLocation)
        #expect(!output.stderr.contains(password), "\(output.stderr)", sourceLocation: sourceLocation)
    }

    // MARK: - train, resume

    @Test func trainRecordsTheRunEpochByEpoch() throws {
        // Given a new, empty database on the server
        let sandbox = try Sandbox(.postgres)

        // When a two-epoch run trains
        let output = try sandbox.train(["--name", "quick"])

        // Then it prints a line per epoch, ends completed, and the database holds it all
        expectSuccess(output)
        expectNoPassword(output)
        #expect(output.lines.filter { $0.hasPrefix("epoch ") }.count == 2)
        #expect(output.lines.last == "run 1 completed")
        #expect(
            try sandbox.rows("SELECT name, status, epochs_done, train_size, val_size, batch_size FROM run_summary")
                == ["quick,completed,2,1000,200,50"])
    }

    @Test(arguments: [0.0, 0.9])
    func resumeFromLastIsByteIdenticalToAnUninterruptedRun(momentum: Double) throws {
        // Given a six-epoch run, and a three-epoch run with the same seed
        let sandbox = try Sandbox(.postgres)
        let settings = ["--seed", "7", "--momentum", "\(momentum)", "--keep-every", "1"]
        expectSuccess(try sandbox.train(["--epochs", "6"] + settings))
        expectSuccess(try sandbox.train(["--epochs", "3"] + settings))

        // When the short run is resumed up to epoch 6
        let resumed = try sandbox.run(["resume", "2", "--epochs", "6"])

        // Then it continued in place, and weights, momentum and metrics match exactly
        expectSuccess(resumed)
        #expect(resumed.lines.first?.contains("resumed after epoch 3") == true, "\(resumed.stdout)")
        let checkpoints = try sandbox.rows(
            "SELECT run_id, encode(weights, 'hex'), coalesce(encode(velocity, 'hex'), 'none'), checksum FROM checkpoints WHERE epoch = 6 ORDER BY run_id"
        ).map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst() }
        #expect(checkpoints.count == 2)
        #expect(checkpoints.first == checkpoints.last)
        #expect((checkpoints.first?[2] == "none") == (momentum == 0))
        let metrics = try sandbox.rows(
            "SELECT run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate FROM epochs ORDER BY run_id, epoch"
        ).map { $0.split(separator: ",").dropFirst() }
        #expect(metrics.count == 12)
        #expect(Array(metrics[0..<6]) == Array(metrics[6..<12]))
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "2")
    }

    @Test func resumeFromBestForksAChildShownWithItsLineage() throws {
        // Given a finished run
        let sandbox = try Sandbox(.postgres)
        expectSuccess(try sandbox.train(["--epochs", "3", "--keep-every", "1"]))
        let parent = [
            "SELECT * FROM runs WHERE id = 1", "SELECT * FROM epochs WHERE run_id = 1",
            "SELECT epoch, encode(weights, 'hex') FROM checkpoints WHERE run_id = 1",
        ]
        let before = try parent.map { try sandbox.rows($0) }

        // When it is resumed from its best epoch with a new learning rate
        let fork = try sandbox.run(["resume", "1", "--from", "best", "--learning-rate", "0.01", "--epochs", "5"])

        // Then a child records the new rate and continues the epoch numbers; the parent is
        // unchanged, and `show` gives the lineage both ways
        expectSuccess(fork)
        let best = try integer(sandbox, "SELECT best_epoch FROM run_summary WHERE id = 1")
        #expect(
            try sandbox.value(
                "SELECT parent_run_id, parent_epoch, runs.learning_rate, min(e.epoch), max(e.epoch) FROM runs JOIN epochs e ON e.run_id = runs.id WHERE runs.id = 2 GROUP BY runs.id"
            ) == "1,\(best),0.01,\(best + 1),5")
        #expect(try parent.map { try sandbox.rows($0) } == before)
        let child = try sandbox.run(["show", "2"])
        #expect(
            child.lines.contains { $0.hasPrefix("forked from") && $0.hasSuffix("run 1 at epoch \(best)") },
            "\(child.stdout)")
        let shownParent = try sandbox.run(["show", "1"])
        #expect(
            shownParent.lines.contains { $0.hasPrefix("forks") && $0.hasSuffix("run 2 at epoch \(best)") },
            "\(shownParent.stdout)")
    }

    // MARK: - Queries

    @Test func queriesListCompareAndAgreeWithTheSummaryView() throws {
        // Given two finished runs, one tagged, and a third stopped before its end
        let sandbox = try Sandbox(.postgres)
        expectSuccess(try sandbox.train(["--epochs", "3", "--name", "slow", "--learning-rate", "0.05"]))
        expectSuccess(try sandbox.train(["--epochs", "3", "--name", "fast", "--learning-rate", "0.5"]))
        expectSuccess(try sandbox.run(["tag", "1", "baseline"]))

        // Then runs lists newest first, filtered by status, tag and limit
        let runs = try #require(try json(sandbox, ["runs"]) as? [[String: Any]])
        #expect(runs.map { $0["name"] as? String } == ["fast", "slow"])
        #expect(runs.allSatisfy { ($0["best_epoch"] as? Int) != nil && ($0["epochs_done"] as? Int) == 3 })
        let limited = try sandbox.run(["runs", "--status", "completed", "--limit", "1"])
        #expect(limited.lines.count == 2 && limited.lines[1].contains("fast"), "\(limited.stdout)")
        let tagged = try sandbox.run(["runs", "--tag", "baseline"])
        #expect(tagged.lines.count == 2 && tagged.lines[1].contains("slow"), "\(tagged.stdout)")
        #expect(try sandbox.run(["runs", "--status", "failed"]).lines.count <= 1)

        // And best agrees with run_summary, for a run and overall
        let best = try #require(try json(sandbox, ["best", "1"]) as? [[String: Any]])
        let view = try #require(
            try json(sandbox, ["sql", "SELECT best_epoch, best_val_loss FROM run_summary WHERE id = 1"])
                as? [[String: Any]])
        #expect(best.first?["epoch"] as? Int == view.first?["best_epoch"] as? Int)
        #expect(best.first?["val_loss"] as? Double == view.first?["best_val_loss"] as? Double)
        let overall = try #require(try json(sandbox, ["best"]) as? [[String: Any]])
        let lowest = try integer(sandbox, "SELECT id FROM run_summary ORDER BY best_val_loss LIMIT 1")
        #expect(overall.count == 1 && overall.first?["run_id"] as? Int == lowest)

        // And show marks the best epoch, compare shows only what differs
        let show = try sandbox.run(["show", "2"])
        let marked = show.lines.filter { $0.hasPrefix("*") }
        #expect(marked.count == 2, "\(show.stdout)")
        let bestOf2 = try integer(sandbox, "SELECT best_epoch FROM run_summary WHERE id = 2")
        #expect(marked.first?.split(separator: " ")[1] == "\(bestOf2)")
        #expect(show.stdout.contains("learning rate  0.5"))
        let compare = try sandbox.run(["compare", "1", "2"])
        expectSuccess(compare)
        let labels = columnLabels(compare.lines[0])
        #expect(labels.contains("learning rate") && labels.contains("name"), "\(compare.stdout)")
        #expect(!labels.contains("hidden") && !labels.contains("seed"))
        #expect(labels.contains("best val loss"))

        // And sql prints a table, CSV and JSON as on SQLite
        let query = "SELECT id, name, learning_rate FROM runs ORDER BY id"
        #expect(try sandbox.run(["sql", query]).lines == [
            "id  name  learning_rate", " 1  slow           0.05", " 2  fast            0.5",
        ])
        #expect(try sandbox.run(["sql", "--csv", query]).lines == ["id,name,learning_rate", "1,slow,0.05", "2,fast,0.5"])
        let rows = try #require(try json(sandbox, ["sql", query]) as? [[String: Any]])
        #expect(rows.map { $0["name"] as? String } == ["slow", "fast"])
        let commented = try sandbox.run(["sql", "--csv", "-- oldest first\nSELECT id FROM runs ORDER BY id"])
        #expect(commented.lines == ["id", "1", "2"], "\(commented.stderr)")
    }

    @Test func sqlRefusesEveryWriteInOneLineAndChangesNothing() throws {
        // Given a run
        let sandbox = try Sandbox(.postgres)
        expectSuccess(try sandbox.train(["--epochs", "1"]))
        let state = [
            "SELECT * FROM run_summary", "SELECT count(*) FROM epochs",
            "SELECT count(*) FROM checkpoints", "SELECT count(*) FROM run_tags",
            "SELECT count(*) FROM pg_largeobject_metadata",
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
        ]
        let before = try state.map { try sandbox.rows($0) }
        let file = "/tmp/mnistlab-sql-\(UUID().uuidString)"

        // When plain SQL tries to write, in the tables or to the server's files
        for statement in [
            "INSERT INTO run_tags (run_id, tag) VALUES (1, 'x')", "UPDATE runs SET name = 'x'",
            "DELETE FROM runs", "CREATE TABLE t (x int)", "DROP TABLE epochs",
            "COPY runs TO '\(file)'", "COPY (SELECT 1) TO '\(file)'",
            "SELECT lo_export(lo_from_bytea(0, 'x'::bytea), '\(file)')",
            "SELECT lo_export(oid, '\(file)') FROM pg_largeobject_metadata",
            "SELECT pg_catalog.lo_import('/etc/hostname')",
            "WITH d AS (DELETE FROM runs RETURNING id) SELECT * FROM d",
            "SELECT 1; DELETE FROM runs", "SELECT 1; SELECT 2",
            "SELECT set_config('role', 'mnistlab', true)",
            "SELECT nextval('runs_id_seq')",
        ] {
            let output = try sandbox.run(["sql", statement])

            // Then each is refused in one line, exit 1
            #expect(output.status == 1, "\(statement): \(output.stdout)")
            #expect(output.stderr.hasPrefix("Error: "), "\(statement): \(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1, "\(statement): \(output.stderr)")
            expectNoPassword(output)
        }

        let cte = try sandbox.run(["sql", "WITH d AS (DELETE FROM runs RETURNING id) SELECT * FROM d"])
        #expect(cte.stderr.contains("writing from within a SELECT"), "\(cte.stderr)")

        // And nothing changed, and no file was written
        #expect(try state.map { try sandbox.rows($0) } == before)
        #expect(!FileManager.default.fileExists(atPath: file))
        let plain = try sandbox.run(["sql", "--csv", "SELECT id, status FROM runs"])
        #expect(plain.lines == ["id,status", "1,completed"], "\(plain.stderr)")
    }

    // MARK: - evaluate, report, predict, export

    @Test func evaluateReportAndPredictReadTheRunFromTheServer() throws {
        // Given a finished run
        let sandbox = try Sandbox(.postgres)
        expectSuccess(try sandbox.train(["--epochs", "3"]))

        // When its best checkpoint is evaluated
        let result = try #require(try json(sandbox, ["evaluate", "1"]) as? [String: Any])

        // Then the matrix counts every test image once, and the tables hold the same numbers
        let matrix = try #require(result["confusion"] as? [[Int]])
        #expect(matrix.joined().reduce(0, +) == 100 && result["test_size"] as? Int == 100)
        let correct = (0..<10).map { matrix[$0][$0] }.reduce(0, +)
        #expect(result["test_accuracy"] as? Double == Double(correct) / 100)
        #expect(
            try sandbox.value(
                "SELECT e.test_size, (SELECT sum(count) FROM confusion c WHERE c.run_id = 1), (SELECT count(*) FROM confusion), (SELECT sum(correct) FROM class_accuracy WHERE run_id = 1) FROM evaluations e"
            ) == "100,100,100,\(correct)")

        // When a report is written
        let report = try sandbox.run(["report", "1", "-o", "report.html"])

        // Then the page names its source without the password
        expectSuccess(report)
        #expect(report.stdout == "Wrote report.html: 1 run.\n")
        let html = try String(contentsOfFile: sandbox.path("report.html"), encoding: .utf8)
        #expect(html.contains("<section class=\"run\" id=\"run-1\">"))
        #expect(html.contains("<table class=\"confusion\">"))
        #expect(html.contains("from <code>\(sandbox.shownDatabase)</code>"), "\(sandbox.shownDatabase)")
        #expect(!html.contains(password))

        // When predict classifies the test images written out as files
        let (images, labels) = try PredictTests().testImages()
        var files: [String] = []
        for (n, pixels) in images.prefix(20).enumerated() {
            let file = sandbox.path("digit\(n).png")
            try Data(GrayImage(width: 28, height: 28, pixels: pixels).png()).write(to: URL(fileURLWithPath: file))
            files.append(file)
        }
        let predicted = try #require(try json(sandbox, ["predict", "1"] + files) as? [[String: Any]])

        // Then each row is a distribution for the best epoch, mostly right
        #expect(predicted.count == 20)
        #expect(predicted.allSatisfy { "\($0["epoch"] ?? "")" == "\(result["epoch"] ?? "")" })
        let right = zip(predicted, labels).filter { ($0.0["label"] as? Int) == Int($0.1) }.count
        #expect(right >= 10, "\(right) of 20")
    }

    @Test func exportWritesMetricsAndTheCheckpointBlob() throws {
        // Given a three-epoch run keeping every checkpoint
        let sandbox = try Sandbox(.postgres)
        expectSuccess(
            try sandbox.train(["--epochs", "3", "--learning-rate", "0.25", "--name", "a, \"quoted\" run", "--keep-every", "1"]))

        // When it is exported as CSV and as JSON
        let csv = try sandbox.run(["export", "1"])
        let file = sandbox.path("run.json")
        let jsonFile = try sandbox.run(["export", "1", "--format", "json", "-o", file])

        // Then each epoch is a row with the run's settings, and the JSON has the run
        expectSuccess(csv)
        #expect(csv.lines.count == 4)
        let metrics = try sandbox.rows(
            "SELECT run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs ORDER BY epoch")
        for (row, expected) in zip(csv.lines.dropFirst(), metrics) {
            #expect(row.hasPrefix(expected + ","), "\(row)")
            #expect(row.contains(",\"a, \"\"quoted\"\" run\",completed,"), "\(row)")
            #expect(row.contains(",0.25,50,0.0,100,sigmoid,cross-entropy,1,"), "\(row)")
        }
        expectSuccess(jsonFile)
        #expect(jsonFile.stdout == "Wrote 3 epochs of run 1 to \(file).\n")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        #expect((object["run"] as? [String: Any])?["learning_rate"] as? Double == 0.25)
        #expect((object["epochs"] as? [[String: Any]])?.map { $0["epoch"] as? Int } == [1, 2, 3])

        // And export-weights writes the stored bytes, for a number and for best
        for epoch in ["2", "best"] {
            let weights = sandbox.path("model-\(epoch).bin")
            expectSuccess(try sandbox.run(["export-weights", "1", "--epoch", epoch, "-o", weights]))
            let number = epoch == "best" ? try integer(sandbox, "SELECT best_epoch FROM run_summary") : 2
            let blob = try sandbox.value(
                "SELECT \(sandbox.hex("weights")) FROM checkpoints WHERE run_id = 1 AND epoch = \(number)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
            #expect(bytes.map { String(format: "%02X", $0) }.joined() == blob)
            #expect(bytes.count == 4 * (785 * 100 + 101 * 10))
        }
    }

    /// The same settings give the same bytes and metrics whichever store records them.
    @Test func sameSettingsStoreTheSameCheckpointInEitherStore() throws {
        // Given the same run trained into an SQLite file and into a PostgreSQL database
        let settings = ["--epochs", "3", "--seed", "5", "--momentum", "0.9", "--keep-every", "1"]
        let stores = try [Sandbox(.sqlite), Sandbox(.postgres)]
        for sandbox in stores { expectSuccess(try sandbox.train(settings), "\(sandbox.store)") }

        // Then every checkpoint's exported bytes, its stored checksum and every epoch's
        // metrics are the same
        func facts(_ sandbox: Sandbox) throws -> [String] {
            var facts = try sandbox.rows(
                "SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate FROM epochs ORDER BY epoch")
            facts += try sandbox.rows("SELECT epoch, checksum, length(weights), length(velocity) FROM checkpoints ORDER BY epoch")
            for epoch in 1...3 {
                let file = sandbox.path("e\(epoch).bin")
                expectSuccess(try sandbox.run(["export-weights", "1", "--epoch", "\(epoch)", "-o", file]))
                facts.append((FileManager.default.contents(atPath: file) ?? Data()).base64EncodedString())
            }
            return facts
        }
        let sqlite = try facts(stores[0])
        let postgres = try facts(stores[1])
        #expect(sqlite.count == 9)
        #expect(sqlite == postgres)
    }

    // MARK: - db

    @Test func dbStatusMigrateAndVacuumOnTheServer() throws {
        // Given eleven runs whose checkpoints take different space (run k keeps k epochs)
        let sandbox = try Sandbox(.postgres)
        for k in 1...11 {
            expectSuccess(try sandbox.train(["--epochs", "\(k)", "--keep-every", "1", "--hidden", "8"]))
        }

        // When the status is read
        let status = try #require(try json(sandbox, ["db", "status"]) as? [String: Any])
        let text = try sandbox.run(["db", "status"])

        // Then it names the URL without its password, counts everything, and lists the ten
        // runs that take the most checkpoint space, largest first
        expectNoPassword(text)
        #expect(status["path"] as? String == sandbox.shownDatabase)
        #expect(status["runs"] as? Int == 11 && status["epochs"] as? Int == 66)
        #expect(status["schema_version"] as? Int == Self.schemaVersion && (status["migrations"] as? [Any])?.count == Self.schemaVersion)
        #expect((status["size_bytes"] as? Int ?? 0) > 0)
        let space = try #require(status["checkpoint_space"] as? [[String: Any]])
        let blob = 4 * (785 * 8 + 9 * 10)
        #expect(space.map { $0["run_id"] as? Int } == (2...11).reversed().map { $0 })
        #expect(space.map { $0["bytes"] as? Int } == (2...11).reversed().map { $0 * blob })
        #expect(text.stdout.contains("checkpoint space (top 10)"), "\(text.stdout)")
        #expect(text.lines.first == "path            \(sandbox.shownDatabase)")

        // When migrate and vacuum run
        let migrate = try sandbox.run(["db", "migrate"])
        expectSuccess(try sandbox.run(["prune", "--keep", "best,last"]))
        let vacuum = try sandbox.run(["db", "vacuum"])

        // Then migrate has nothing to do, vacuum reports the space
        expectSuccess(migrate)
        #expect(migrate.stdout == "schema 15: already up to date\n", "\(migrate.stdout)")
        expectSuccess(vacuum)
        expectNoPassword(vacuum)
        #expect(vacuum.stdout.hasPrefix("\(sandbox.shownDatabase): "), "\(vacuum.stdout)")
        #expect(vacuum.stdout.contains(" → ") && vacuum.stdout.contains("given back"))
        #expect(try integer(sandbox, "SELECT count(*) FROM checkpoints") <= 22)
    }

    // MARK: - Run management

    @Test func tagsNotesNamesAndRemovalOnTheServer() throws {
        // Given run 1, its fork 2 from epoch 2, an unrelated run 3, and an evaluation of 2
        let sandbox = try Sandbox(.postgres)
        expectSuccess(try sandbox.train(["--epochs", "3", "--keep-every", "1", "--name", "first"]))
        expectSuccess(try sandbox.run(["resume", "1", "--from", "2", "--learning-rate", "0.05"]))
        expectSuccess(try sandbox.train(["--epochs", "2", "--learning-rate", "0.5", "--name", "second"]))
        expectSuccess(try sandbox.run(["evaluate", "2"]))

        // When runs are tagged, untagged, noted and renamed
        expectSuccess(try sandbox.run(["tag", "1", "3", "baseline", "seed"]))
        expectSuccess(try sandbox.run(["tag", "1", "zeta"]))
        expectSuccess(try sandbox.run(["untag", "3", "seed"]))
        expectSuccess(try sandbox.run(["note", "1", "why: to check the seed"]))
        expectSuccess(try sandbox.run(["rename", "1", "renamed"]))

        // Then every view shows them as on SQLite
        let tagged = try sandbox.run(["runs", "--tag", "zeta"])
        #expect(tagged.lines.count == 2 && tagged.lines[1].contains("renamed"), "\(tagged.stdout)")
        #expect(tagged.lines[1].hasSuffix("baseline,seed,zeta"), "\(tagged.stdout)")
        let show = try sandbox.run(["show", "1"]).stdout
        #expect(show.contains("tags           baseline, seed, zeta"), "\(show)")
        #expect(show.contains("note           why: to check the seed"), "\(show)")
        #expect(
            try sandbox.rows("SELECT id, name, tags, note FROM run_summary ORDER BY id") == [
                "1,renamed,\"baseline,seed,zeta\",why: to check the seed", "2,run-2,,",
                "3,second,baseline,",
            ])
        let unknown = try sandbox.run(["tag", "9", "x"])
        #expect(unknown.status == 1 && unknown.stderr.hasSuffix(": there is no run 9.\n"), "\(unknown.stderr)")
        expectNoPassword(unknown)

        // When run 1 is removed alone
        let before = try sandbox.rows("SELECT * FROM run_summary ORDER BY id")
        let refused = try sandbox.run(["rm", "1"])

        // Then it is refused with its fork named, and nothing changed
        #expect(
            refused.stderr
                == "Error: Cannot remove run 1 from \(sandbox.shownDatabase): run 2 was forked from run 1. Pass --with-forks to remove them too, or remove them first (`mnistlab rm 2`); `mnistlab show 1` lists its forks.\n"
        )
        #expect(refused.status == 1)
        #expect(try sandbox.rows("SELECT * FROM run_summary ORDER BY id") == before)

        // When the removal is tried dry, then done
        let dry = try sandbox.run(["rm", "1", "--with-forks", "--dry-run"])
        #expect(try sandbox.rows("SELECT * FROM run_summary ORDER BY id") == before)
        let done = try sandbox.run(["rm", "1", "--with-forks"])

        // Then both list the fork first with its evaluation; only the second acts
        expectSuccess(dry)
        expectSuccess(done)
        #expect(dry.lines.first?.hasPrefix("would remove run 2 (run-2, a fork of run 1): ") == true, "\(dry.stdout)")
        #expect(dry.lines.first?.contains("1 evaluations") == true, "\(dry.stdout)")
        #expect(dry.lines.last?.hasPrefix("would remove 2 runs, ") == true)
        #expect(Array(done.lines.dropLast()) == dry.lines.dropLast().map { "removed" + $0.dropFirst(12) })
        #expect(try sandbox.rows("SELECT id FROM run_summary") == ["3"])
        #expect(
            try sandbox.value(
                """
                SELECT (SELECT count(*) FROM epochs WHERE run_id <> 3) +
                       (SELECT count(*) FROM checkpoints WHERE run_id <> 3) +
                       (SELECT count(*) FROM evaluations) + (SELECT count(*) FROM confusion) +
                       (SELECT count(*) FROM run_tags WHERE run_id <> 3) +
                       (SELECT count(*) FROM run_stats WHERE run_id NOT IN (SELECT id FROM runs))
                """) == "0")
        #expect(try sandbox.run(["show", "1"]).status == 1)
    }

    // MARK: - Sweeps

    @Test func sweepWorkerAndSweepsOnTheServer() throws {
        // Given an empty database
        let sandbox = try Sandbox(.postgres)

        // When a 2 × 2 grid runs two at a time
        let output = try sandbox.run([
            "sweep", "--learning-rate", "0.05,0.5", "--hidden", "20,10-10", "--epochs", "2",
            "--parallel", "2", "--val-size", "200", "--batch-size", "50",
        ])

        // Then four runs are recorded under sweep 1, ranked as run_summary orders them
        expectSuccess(output)
        expectNoPassword(output)
        #expect(
            try sandbox.rows(
                "SELECT learning_rate, hidden, status, epochs_done FROM run_summary WHERE sweep_id = 1 ORDER BY learning_rate, hidden"
            ) == [
                "0.05,\"10,10\",completed,2", "0.05,20,completed,2", "0.5,\"10,10\",completed,2",
                "0.5,20,completed,2",
            ])
        let ranked = try sandbox.rows("SELECT id FROM run_summary WHERE sweep_id = 1 ORDER BY best_val_loss")
        let table = output.lines.drop { !$0.hasPrefix("sweep 1 ranked") }.dropFirst(2)
        #expect(table.map { String($0.split(separator: " ")[1]) } == ranked, "\(output.stdout)")
        #expect(output.lines.filter { $0.contains(": started") }.count == 4)

        // When a detached sweep is trained by two racing workers
        let detached = try sandbox.run([
            "sweep", "--seed", "1,2,3", "--hidden", "16", "--epochs", "3", "--val-size", "200",
            "--batch-size", "50", "--detach",
        ])
        expectSuccess(detached)
        #expect(detached.stdout.hasPrefix("sweep 2: 3 trials"), "\(detached.stdout)")
        let workers = try (1...2).map { try Background(sandbox, ["worker", "--sweep", "2"], label: "w\($0)") }

        // Then each trial is trained once, and sweeps shows both sweeps done
        for worker in workers { #expect(worker.wait() == .exit(0), "\(worker.stderr)") }
        #expect(
            try sandbox.rows("SELECT number, status, attempts FROM trials WHERE sweep_id = 2 ORDER BY number")
                == ["1,completed,1", "2,completed,1", "3,completed,1"])
        #expect(try sandbox.value("SELECT count(*) FROM runs WHERE sweep_id = 2") == "3")
        let sweeps = try #require(try json(sandbox, ["sweeps"]) as? [[String: Any]])
        #expect(sweeps.count == 2, "\(sweeps)")
        let one = try sandbox.run(["sweeps", "2"])
        expectSuccess(one)
        #expect(one.stdout.contains("ranked by best validation loss:"), "\(one.stdout)")
        #expect(try sandbox.run(["sweeps", "7"]).stderr.hasPrefix("Error: There is no sweep 7"))
    }

    // MARK: - Concurrency

    @Test func fourTrainersMigrateANewDatabaseOnce() throws {
        // Given a new, empty, unmigrated database
        let sandbox = try Sandbox(.postgres)

        // When four trainers open it at the same instant
        let trainers = try (1...4).map {
            try Background(sandbox, ["train", "--epochs", "2", "--val-size", "200", "--hidden", "16"], label: "t\($0)")
        }

        // Then all four succeed with runs of their own, and the schema was migrated once
        for trainer in trainers { #expect(trainer.wait() == .exit(0), "\(trainer.stderr)") }
        #expect(try sandbox.rows("SELECT id, status, epochs_done FROM run_summary ORDER BY id")
            == (1...4).map { "\($0),completed,2" })
        #expect(try sandbox.value("SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations")
            == "\(Self.schemaVersion),\(Self.schemaVersion),\(Self.schemaVersion)")
        #expect(try sandbox.value("SELECT count(DISTINCT uid) FROM runs") == "4")
    }

    @Test func removalsRacingATrainerLoseNothingOfIt() throws {
        // Given two finished runs, and a third being trained, keeping every checkpoint
        let sandbox = try Sandbox(.postgres)
        for _ in 1...2 { expectSuccess(try sandbox.train(["--epochs", "2", "--keep-every", "1"])) }
        let trainer = try trainUntilKilled(sandbox, ["--keep-every", "1"])
        defer { trainer.send(SIGKILL) }

        // When its run is removed, or the database vacuumed
        let removeLive = try sandbox.run(["rm", "3"])
        let vacuum = try sandbox.run(["db", "vacuum"])

        // Then both are refused in one line naming its process
        expectOneLineError(removeLive, status: 1, startingWith: "Cannot remove")
        #expect(removeLive.stderr.contains("run 3 (process \(trainer.pid) on "), "\(removeLive.stderr)")
        expectOneLineError(vacuum, status: 1, startingWith: "")
        #expect(vacuum.stderr.contains("run 3 (process \(trainer.pid) on "), "\(vacuum.stderr)")

        // When the other runs are removed one by one, and every run pruned, as it trains
        for id in 1...2 {
            let before = trainer.stdout.split(separator: "\n").count
            expectSuccess(try sandbox.run(["rm", "\(id)"]), "rm \(id)")
            expectSuccess(try sandbox.run(["prune", "--keep", "best,last"]), "prune")
            #expect(trainer.wait { trainer.stdout.split(separator: "\n").count > before + 1 })
        }
        trainer.send(SIGINT)
        #expect(trainer.wait() == .exit(130), "\(trainer.stderr)")

        // Then only the trainer's run is left, with every epoch it printed, whole
        #expect(try sandbox.rows("SELECT id, status FROM run_summary") == ["3,interrupted"])
        let printed = trainer.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count
        try expectWholeEpochs(sandbox, runID: 3, count: printed)
        expectSuccess(try sandbox.run(["resume", "3", "--epochs", "\(printed + 1)"]))
    }
}

/// Every epoch of `runID` is whole: `count` of them numbered 1…count, each with all its
/// metrics, each checkpoint of the right size beside its epoch, the last one checkpointed.
func expectWholeEpochs(
    _ sandbox: Sandbox, runID: Int, count: Int, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let facts = try sandbox.value(
        """
        SELECT
          (SELECT count(*) FROM epochs WHERE run_id = \(runID)),
          (SELECT coalesce(max(epoch), 0) FROM epochs WHERE run_id = \(runID)),
          (SELECT count(*) FROM epochs WHERE run_id = \(runID) AND NOT (
              train_loss >= 0 AND val_loss >= 0 AND train_accuracy BETWEEN 0 AND 1
              AND val_accuracy BETWEEN 0 AND 1 AND recorded_at IS NOT NULL)),
          (SELECT count(*) FROM checkpoints c WHERE run_id = \(runID) AND NOT EXISTS (
              SELECT 1 FROM epochs e WHERE e.run_id = c.run_id AND e.epoch = c.epoch)),
          (SELECT count(*) FROM checkpoints WHERE run_id = \(runID)
              AND length(weights) <> 4 * parameter_count),
          (SELECT count(*) FROM checkpoints WHERE run_id = \(runID)
              AND epoch = (SELECT max(epoch) FROM epochs WHERE run_id = \(runID)))
        """)
    #expect(facts == "\(count),\(count),0,0,0,\(count == 0 ? 0 : 1)", sourceLocation: sourceLocation)
}

/// A run trained while its server restarts. The suite has a server of its own, so the
/// restart cuts off no other test's connections.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized, .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct PostgresFaultTests {
    @Test func serverRestartMidRunLosesNoEpoch() throws {
        // Given a long run training on a server of this test's own
        let server = try PostgresServer.dedicated()
        let sandbox = try Sandbox(.postgres, server: server)
        let epochs = 300
        let settings = [
            "--epochs", "\(epochs)", "--batch-size", "10", "--val-size", "200", "--keep-every", "5",
        ]
        let trainer = try Background(sandbox, ["train"] + settings, label: "trainer")
        defer { trainer.send(SIGKILL) }
        #expect(trainer.waitForLines("epoch ", count: 3), "\(trainer.stderr)")

        // When the server restarts under it
        try server.restart()
        let restartedMidRun = trainer.isRunning
        let ending = trainer.wait()

        // Then the run either went on to its end, or stopped in one line, interrupted
        let printed = trainer.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count
        #expect(restartedMidRun, "the restart came after the run: \(trainer.stdout)")
        let stored = try integer(sandbox, "SELECT count(*) FROM epochs")
        if ending == .exit(0) {
            #expect(printed == epochs && stored == epochs)
            #expect(try sandbox.value("SELECT status FROM run_summary") == "completed")
        } else {
            #expect(ending == .exit(1), "\(ending): \(trainer.stderr)")
            #expect(trainer.stderr.hasPrefix("Error: "), "\(trainer.stderr)")
            #expect(trainer.stderr.split(separator: "\n").count == 1, "\(trainer.stderr)")
            #expect(!trainer.stderr.contains(server.password))
            #expect(try sandbox.status(runID: 1) == "interrupted")
            // A commit whose answer was lost may have landed without its line printed.
            #expect(stored == printed || stored == printed + 1, "printed \(printed), stored \(stored)")
        }
        // And no epoch is half-written, every printed one is stored
        try expectWholeEpochs(sandbox, runID: 1, count: stored)

        // And resume finishes it
        let resumed = try sandbox.run(["resume", "1"])
        if stored < epochs {
            expectSuccess(resumed)
            #expect(resumed.lines.first?.contains("resumed after epoch \(stored)") == true, "\(resumed.stdout)")
        }
        #expect(try sandbox.value("SELECT status, epochs_done FROM run_summary") == "completed,\(epochs)")
        try expectWholeEpochs(sandbox, runID: 1, count: epochs)

        // And its weights are those of the same run trained without a restart, bit for bit
        let reference = try Sandbox(.sqlite)
        expectSuccess(try reference.run(["train"] + settings))
        func weights(_ sandbox: Sandbox) throws -> String? {
            try sandbox.value(
                "SELECT \(sandbox.hex("weights")) FROM checkpoints WHERE run_id = 1 AND epoch = \(epochs)")
        }
        let restarted = try weights(sandbox)
        #expect(restarted?.isEmpty == false)
        #expect(restarted == (try weights(reference)))
    }
}

/// Refusals of a PostgreSQL location: one line, exit 1, no stack trace, and never the
/// password, whatever the command.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct PostgresErrorTests {
    static let secret = "s3cretPW"

    static var cases: [(String, String)] {
        let server = try? PostgresServer.shared
        let port = server?.port ?? 5432
        let existing = server.flatMap { try? $0.createDatabase() } ?? ""
        return [
            ("postgres://mnistlab:s3cret@PW@127.0.0.1/db", "not a usable PostgreSQL URL: it has more than one '@' before the host; an '@' in the password must be percent-encoded as %40"),
            ("postgres://mnistlab:\(secret)@127.0.0.1:99999/db", "not a usable PostgreSQL URL: the port must be a number from 1 to 65535; got '99999'."),
            ("postgres://mnistlab:\(secret)@127.0.0.1:\(port)/db?sslmode=maybe", "not a usable PostgreSQL URL: sslmode must be"),
            ("postgres://mnistlab:\(secret)@127.0.0.1:1/db?sslmode=disable", "Cannot open database at postgres://mnistlab@127.0.0.1:1/db?sslmode=disable: connection to server at \"127.0.0.1\", port 1 failed: Connection refused"),
            ("postgres://mnistlab:\(secret)@127.0.0.1:\(port)/postgres?sslmode=disable", "Cannot open database at postgres://mnistlab@127.0.0.1:\(port)/postgres?sslmode=disable: connection to server at \"127.0.0.1\", port \(port) failed: FATAL: password authentication failed"),
            (
                (server.map { $0.url(database: "no_such_db") } ?? ""),
                "Cannot open database at postgres://mnistlab@127.0.0.1:\(port)/no_such_db?sslmode=disable: connection to server at \"127.0.0.1\", port \(port) failed: FATAL: database \"no_such_db\" does not exist"
            ),
            (
                existing.replacingOccurrences(of: "sslmode=disable", with: "sslmode=require"),
                "server does not support SSL, but SSL was required. ?sslmode=prefer (the default) uses TLS only where the server offers it"
            ),
        ]
    }

    @Test(arguments: cases)
    func badLocationIsOneLineWithoutThePassword(url: String, reason: String) throws {
        let sandbox = try Sandbox()
        let password = (try? PostgresServer.shared.password) ?? Self.secret
        for command in [["runs"], ["train", "--epochs", "1", "--val-size", "200"], ["sql", "SELECT 1"], ["db", "status"], ["db", "migrate"], ["import", url, "--db", sandbox.database]] {
            // When a command is pointed at the location
            let output = try sandbox.run(command, environment: ["MNISTLAB_DB": url])

            // Then it says why in one line (exit 64 for a URL that is itself wrong, 1 for a
            // server that refuses it), and names the URL without the password
            let badURL = reason.hasPrefix("not a usable PostgreSQL URL")
            #expect(output.status == (badURL ? 64 : 1), "\(command): \(output.stderr)")
            #expect(output.stderr.hasPrefix("Error: Cannot "), "\(command): \(output.stderr)")
            #expect(output.stderr.contains(reason), "\(command): \(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1, "\(command): \(output.stderr)")
            #expect(!output.stderr.contains(Self.secret) && !output.stderr.contains(password), "\(output.stderr)")
            #expect(!output.stdout.contains(Self.secret) && !output.stdout.contains(password))
            #expect(!output.stderr.contains("Fatal error") && !output.stderr.contains("Backtrace"))
        }
    }
}

/// `import` from SQLite into PostgreSQL and back: everything of every finished run, with new
/// ids, once.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct PostgresImportTests {
    /// A run, its fork from epoch 2 (evaluated, noted), both tagged, and a sweep of two trials.
    func history(_ store: Sandbox.Store) throws -> Sandbox {
        let sandbox = try Sandbox(store)
        expectSuccess(try sandbox.train(["--epochs", "3", "--keep-every", "1", "--name", "parent"]))
        expectSuccess(try sandbox.run(["resume", "1", "--from", "2", "--learning-rate", "0.05"]))
        expectSuccess(try sandbox.run(["evaluate", "2"]))
        expectSuccess(try sandbox.run(["tag", "1", "2", "baseline"]))
        expectSuccess(try sandbox.run(["note", "2", "forked at 2"]))
        expectSuccess(
            try sandbox.run([
                "sweep", "--seed", "1,2", "--hidden", "16", "--epochs", "2", "--val-size", "200",
                "--batch-size", "50",
            ]))
        return sandbox
    }

    /// What must be the same for a run in both stores: its summary but for ids, its epochs,
    /// checkpoints (bytes), evaluations and confusion cells.
    func facts(_ sandbox: Sandbox, runID: Int) throws -> [String] {
        var facts = try sandbox.rows(
            """
            SELECT name, status, epochs_done, best_epoch, best_val_loss, best_val_accuracy,
                   last_epoch, last_val_loss, tags, note, learning_rate, hidden, seed,
                   parent_epoch, created_at
            FROM run_summary WHERE id = \(runID)
            """)
        facts += try sandbox.rows(
            "SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds, recorded_at FROM epochs WHERE run_id = \(runID) ORDER BY epoch")
        facts += try sandbox.rows(
            "SELECT epoch, checksum, \(sandbox.hex("weights")), \(sandbox.hex("velocity")) FROM checkpoints WHERE run_id = \(runID) ORDER BY epoch")
        facts += try sandbox.rows(
            "SELECT epoch, test_loss, test_accuracy, test_size FROM evaluations WHERE run_id = \(runID) ORDER BY epoch")
        facts += try sandbox.rows(
            "SELECT epoch, true_label, predicted_label, count FROM confusion WHERE run_id = \(runID) ORDER BY 1, 2, 3")
        let best = try sandbox.run(["best", "\(runID)", "--json"]).stdout
        facts.append(best.replacingOccurrences(of: "\"run_id\" : \(runID),", with: ""))
        return facts
    }

    @Test(arguments: [(Sandbox.Store.sqlite, Sandbox.Store.postgres), (.postgres, .sqlite)])
    func importCopiesEveryFinishedRunOnceWithNewIDs(from: Sandbox.Store, to: Sandbox.Store) throws {
        // Given a source with a fork, an evaluation, tags, a note, a sweep, and a run still
        // training; and a target that holds a run of its own
        let source = try history(from)
        // (held for an hour and stopped once its run exists: a trainer left running took a
        // core for the rest of the test, which every other test then did without)
        let live = try Background(
            source, ["train", "--epochs", "100000", "--hidden", "16", "--val-size", "200"], label: "live",
            environment: ["MNISTLAB_LEASE_SECONDS": "3600"])
        defer { live.send(SIGKILL) }
        #expect(live.waitForLines("epoch "), "\(live.stderr)")
        live.send(SIGSTOP)
        let target = try Sandbox(to)
        expectSuccess(try target.train(["--epochs", "1", "--name", "own"]))
        let own = try facts(target, runID: 1)
        let copied = try source.value(
            "SELECT (SELECT count(*) FROM epochs WHERE run_id <= 4), (SELECT count(*) FROM checkpoints WHERE run_id <= 4)")
        let shownSource = source.shownDatabase

        // When the source is imported, then imported again
        let first = try target.run(["import", source.database])
        let again = try target.run(["import", source.database])

        // Then the four finished runs and the sweep came over with new ids, the live one was
        // left out and said so, and the second import added nothing
        expectSuccess(first)
        let (epochs, checkpoints) = try #require(copied.map { $0.split(separator: ",") }.map { ($0[0], $0[1]) })
        #expect(first.lines == [
            "imported 4 runs (\(epochs) epochs, \(checkpoints) checkpoints, 1 evaluation) and 1 sweep from \(shownSource)",
            "new ids: 1 → 2, 2 → 3, 3 → 4, 4 → 5",
            "left for a later import, still training: run 5",
        ])
        expectSuccess(again)
        #expect(again.lines == [
            "nothing new to import from \(shownSource); 4 runs already here",
            "left for a later import, still training: run 5",
        ])
        for output in [first, again] {
            for password in [(try? PostgresServer.shared.password) ?? "?"] {
                #expect(!output.stdout.contains(password) && !output.stderr.contains(password))
            }
        }

        // And each run reads the same in both stores, its lineage and sweep mapped to the new ids
        #expect(try facts(target, runID: 1) == own)
        for (old, new) in [(1, 2), (2, 3), (3, 4), (4, 5)] {
            #expect(try facts(target, runID: new) == facts(source, runID: old), "run \(old) → \(new)")
        }
        #expect(try target.value("SELECT parent_run_id, parent_epoch FROM runs WHERE id = 3") == "2,2")
        let show = try target.run(["show", "3"])
        #expect(show.lines.contains { $0.hasPrefix("forked from") && $0.hasSuffix("run 2 at epoch 2") }, "\(show.stdout)")
        #expect(
            try target.rows("SELECT t.number, t.status, t.run_id FROM trials t ORDER BY t.number")
                == ["1,completed,4", "2,completed,5"])
        #expect(try target.rows("SELECT DISTINCT sweep_id FROM runs WHERE id IN (4, 5)") == ["1"])
        #expect(try target.value("SELECT count(DISTINCT uid), count(*) FROM runs") == "5,5")

        // When the live run stops and the source is imported once more
        live.send(SIGINT)
        live.send(SIGCONT)
        #expect(live.wait() == .exit(130), "\(live.stderr)")
        let last = try target.run(["import", source.database])

        // Then only that run comes over, interrupted and resumable in the target
        expectSuccess(last)
        #expect(last.lines.first?.hasPrefix("imported 1 run (") == true, "\(last.stdout)")
        #expect(last.lines.first?.hasSuffix("; 4 runs already here") == true, "\(last.stdout)")
        #expect(try facts(target, runID: 6) == facts(source, runID: 5))
        #expect(try target.status(runID: 6) == "interrupted")
        let done = try integer(target, "SELECT epochs_done FROM run_summary WHERE id = 6")
        expectSuccess(try target.run(["resume", "6", "--epochs", "\(done + 1)"]))
    }
}
