import Foundation
import TestSupport
import Testing

/// `sweep`: a grid of `train` processes tagged with the sweep's id, ranked at the end.
@Suite(.serialized) struct SweepTests {
    @Test func sweepTrainsTheGridInParallelAndRanksIt() throws {
        // Given an empty sandbox
        let sandbox = try Sandbox()

        // When a 2 × 2 grid runs two at a time
        let output = try sandbox.run([
            "sweep", "--learning-rate", "0.05,0.5", "--hidden", "20,10-10", "--epochs", "2",
            "--parallel", "2", "--val-size", "200", "--batch-size", "50",
        ])

        // Then four runs are recorded under sweep 1 with the grid's settings
        #expect(output.status == 0, "\(output.stderr)")
        let runs = try sandbox.run([
            "sql", "--csv", "SELECT learning_rate, hidden, status, epochs_done FROM run_summary WHERE sweep_id = 1 ORDER BY learning_rate, hidden",
        ])
        #expect(runs.lines.dropFirst() == [
            "0.05,\"10,10\",completed,2", "0.05,20,completed,2", "0.5,\"10,10\",completed,2", "0.5,20,completed,2",
        ])
        #expect(try sandbox.run(["sql", "--csv", "SELECT size, grid FROM sweeps"]).lines.last
            == "4,\"{\"\"activation\"\":[\"\"sigmoid\"\"],\"\"batch_size\"\":[50],\"\"hidden\"\":[\"\"20\"\",\"\"10,10\"\"],\"\"learning_rate\"\":[0.05,0.5],\"\"loss\"\":[\"\"cross-entropy\"\"],\"\"momentum\"\":[0],\"\"seed\"\":[1]}\"")

        // And the ranking lists them by best validation loss, as run_summary orders them
        let ranked = try sandbox.run(["sql", "--csv", "SELECT id FROM run_summary WHERE sweep_id = 1 ORDER BY best_val_loss"])
        let table = output.lines.drop { !$0.hasPrefix("sweep 1 ranked") }.dropFirst(2)
        #expect(table.map { String($0.split(separator: " ")[1]) } == Array(ranked.lines.dropFirst()))
        #expect(output.lines.filter { $0.contains(": started") }.count == 4)
    }

    @Test func sequentialSweepShowsEachRunsEpochsAndPrintsJSON() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run([
            "sweep", "--activation", "sigmoid,relu", "--hidden", "16", "--epochs", "1", "--val-size", "200",
            "--batch-size", "100", "--json",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        let ranking = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(Set(ranking.map { $0["activation"] as? String }) == ["sigmoid", "relu"])
        #expect(ranking.allSatisfy { $0["sweep_id"] as? Int == 1 })
        #expect(ranking.map { $0["name"] as? String }.contains("sweep-1/activation=relu"))
    }

    @Test func badValuesAreRefusedBeforeAnyRun() throws {
        let sandbox = try Sandbox()
        for (arguments, message) in [
            (["--learning-rate", "0.1,-1"], "Error: --learning-rate has an invalid value '-1'"),
            (["--hidden", "100,0"], "Error: --hidden has an invalid value '0'"),
            (["--activation", "relu,tanh"], "Error: --activation has an invalid value 'tanh'"),
            (["--parallel", "0"], "Error: --parallel must be at least 1; got 0."),
            // The checks `train` makes, with the same words.
            (
                ["--learning-rate", "0.1,1e-50"],
                "Error: --learning-rate has an invalid value '1e-50': learning rate is too small for Float32"
            ),
            (
                ["--learning-rate", "-1,0.1"],
                "Error: --learning-rate has an invalid value '-1': learning rate must be positive."
            ),
            (
                ["--hidden", "100,100000000"],
                "Error: --hidden has an invalid value '100000000': hidden widths must be at most 65536 each."
            ),
            (
                ["--momentum", "0.99999999"],
                "Error: --momentum has an invalid value '0.99999999': momentum must be in [0, 1), and 0.99999999 rounds to 1"
            ),
            (["--batch-size", "-5"], "Error: --batch-size has an invalid value '-5': batch size must be at least 1."),
            (["--epochs", "-1"], "Error: Epochs must be at least 1; got -1."),
            (["--keep-every", "0"], "Error: --keep-every must be at least 1; got 0."),
        ] {
            let output = try sandbox.run(["sweep"] + arguments)
            #expect(output.status == 64)
            #expect(output.stderr.hasPrefix(message), "\(output.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func missingDataIsRefusedBeforeTheSweepIsWritten() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["sweep", "--learning-rate", "0.1,0.2", "--epochs", "1", "--data", "/nonexistent"])
        #expect(output.status == 1)
        #expect(output.stderr.hasPrefix("Error: Cannot find train-images-idx3-ubyte.gz"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func runsThatCouldNotStartAreRefusedBeforeTheSweep() throws {
        // Given a split the small dataset cannot make
        let sandbox = try Sandbox()
        let output = try sandbox.run(["sweep", "--learning-rate", "0.1,0.2", "--epochs", "1", "--val-size", "5000"])

        // Then the sweep is refused in one line as bad input, and nothing is written
        #expect(output.status == 64)
        #expect(output.stderr.hasPrefix("Error: Validation size must be between 1 and 1199"), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func everyTrialIsReportedByIdentity() throws {
        // Given four trials trained at once by four workers
        let sandbox = try Sandbox()
        let output = try sandbox.run([
            "sweep", "--seed", "1,2,3,4", "--parallel", "4", "--epochs", "2", "--val-size", "200",
            "--batch-size", "100",
        ])

        // Then each trial is reported once, started and completed, with its own run
        #expect(output.status == 0, "\(output.stderr)")
        for seed in 1...4 {
            #expect(output.lines.filter { $0.hasSuffix("seed=\(seed): started") }.count == 1, "\(output.stdout)")
            #expect(output.lines.filter { $0.contains("seed=\(seed): run ") && $0.contains(" completed") }.count == 1, "\(output.stdout)")
        }
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(DISTINCT run_id) FROM trials"]).lines.last == "4")
    }

    @Test func randomSearchDrawsTheSameTrialsFromTheSameCommand() throws {
        // Given the same random search created twice
        let command = [
            "sweep", "--random", "5", "--learning-rate", "0.01:1:log", "--hidden", "16:64",
            "--momentum", "0:0.9", "--epochs", "1", "--val-size", "200", "--detach",
        ]
        let sandbox = try Sandbox()
        #expect(try sandbox.run(command).status == 0)
        #expect(try sandbox.run(command).status == 0)

        // Then both sweeps hold the same five trials (but for the sweep's id)
        func trials(_ sweep: Int) throws -> [String] {
            Array(try sandbox.run([
                "sql", "--csv",
                "SELECT number, replace(replace(settings, 'sweep-\(sweep)/', 'sweep-N/'), '\"--sweep\",\"\(sweep)\"', '\"--sweep\",\"N\"') FROM trials WHERE sweep_id = \(sweep) ORDER BY number",
            ]).lines.dropFirst())
        }
        #expect(try trials(1).count == 5)
        #expect(try trials(1) == trials(2))
        // And every drawn rate is inside its range
        let drawn = try sandbox.run(["sql", "--csv", "SELECT json_extract(grid, '$.values.learning_rate') FROM sweeps WHERE id = 1"]).lines.last ?? ""
        let values = drawn.trimmingCharacters(in: CharacterSet(charactersIn: "\"[]")).split(separator: ",").compactMap { Double($0) }
        #expect(values.count == 5 && values.allSatisfy { (0.01...1).contains($0) }, "\(drawn)")
    }

    @Test func aRangeWithoutRandomIsRefused() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["sweep", "--learning-rate", "0.01:1", "--epochs", "1"])
        #expect(output.status == 64)
        #expect(output.stderr == "Error: --learning-rate '0.01:1' is a range; ranges need --random N.\n")
    }

    @Test func aRepeatedGridPointRunsOnce() throws {
        // Given a sweep whose lists repeat a value (the same seed twice)
        let sandbox = try Sandbox()
        let output = try sandbox.run([
            "sweep", "--seed", "1,1", "--parallel", "2", "--epochs", "2", "--val-size", "200",
            "--batch-size", "100",
        ])

        // Then the grid point exists once, says so, and trains once
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("1 grid point is the same as another; each runs once"), "\(output.stderr)")
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*), min(size) FROM trials JOIN sweeps ON sweeps.id = sweep_id"]).lines.last == "1,1")
    }

    @Test func closedOutputDoesNotStopTheSweep() throws {
        // Given a sweep of three runs one after the other, read by a reader that stops after
        // its first line (`mnistlab sweep … | head -1`)
        let sandbox = try Sandbox()
        let process = sandbox.launch([
            "sweep", "--seed", "1,2,3", "--epochs", "2", "--val-size", "200", "--batch-size", "100",
        ])
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        _ = stdout.fileHandleForReading.availableData
        try stdout.fileHandleForReading.close()

        // When it goes on writing into the closed pipe
        process.waitUntilExit()

        // Then every grid point still trained to the end
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let statuses = try sandbox.run(["sql", "--csv", "SELECT status FROM runs ORDER BY id"])
        #expect(statuses.lines.dropFirst() == ["completed", "completed", "completed"])
    }

    @Test func interruptStopsEveryRunCleanly() throws {
        // Given a long sweep of two runs training at once
        let sandbox = try Sandbox()
        let process = sandbox.launch([
            "sweep", "--learning-rate", "0.1,0.2", "--epochs", "100000", "--parallel", "2",
            "--val-size", "200", "--batch-size", "50",
        ])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let started = try sandbox.run(["sql", "--csv", "SELECT count(DISTINCT run_id) FROM epochs"])
            if started.lines.last == "2" { break }
            Thread.sleep(forTimeInterval: 0.2)
        }

        // When it gets SIGINT (as Ctrl-C sends it)
        process.interrupt()
        process.waitUntilExit()

        // Then it exits 130 and both runs are interrupted, resumable, none left running
        #expect(process.terminationStatus == 130)
        let statuses = try sandbox.run(["sql", "--csv", "SELECT status, epochs_done > 0 FROM run_summary ORDER BY id"])
        #expect(statuses.lines.dropFirst() == ["interrupted,1", "interrupted,1"])
    }
}
