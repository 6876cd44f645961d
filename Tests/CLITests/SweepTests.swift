import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `sweep`: a grid of `train` processes tagged with the sweep's id, ranked at the end.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct SweepTests {
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

    @Test func aMinDeltaWithPatienceReachesEveryTrial() throws {
        // Given --min-delta with a patience for every trial
        let sandbox = try Sandbox()
        let output = try sandbox.run([
            "sweep", "--learning-rate", "0.1,0.2", "--patience", "3", "--min-delta", "0.01",
            "--epochs", "1", "--val-size", "200", "--detach",
        ])

        // Then the sweep is written, each trial stopping early by it
        expectSuccess(output)
        #expect(try sandbox.rows("SELECT settings FROM trials").allSatisfy {
            // CSV doubles the JSON's quotes.
            $0.contains(#"min_delta"":0.01"#) && $0.contains(#"patience"":3"#)
        })
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

    @Test func aRangeWithoutRandomIsRefused() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["sweep", "--learning-rate", "0.01:1", "--epochs", "1"])
        #expect(output.status == 64)
        #expect(output.stderr == "Error: --learning-rate '0.01:1' is a range; ranges need --random N or --tpe N.\n")
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
        let deadline = ChildDeadline(process, seconds: Sandbox.commandDeadline)
        _ = stdout.fileHandleForReading.availableData
        try stdout.fileHandleForReading.close()

        // When it goes on writing into the closed pipe
        process.waitUntilExit()
        deadline.cancel()

        // Then every grid point still trained to the end
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let statuses = try sandbox.run(["sql", "--csv", "SELECT status FROM runs ORDER BY id"])
        #expect(statuses.lines.dropFirst() == ["completed", "completed", "completed"])
    }

    @Test func aDetachedSweepWhoseLineIsLostSaysItWasCreated() throws {
        // Given a detached sweep whose one line goes to a full disk
        let sandbox = try Sandbox()
        let full = try sandbox.run(
            ["-c", "\"$0\" sweep --learning-rate 0.1,0.2 --epochs 1 --val-size 200 --detach > /dev/full", mnistlabBinary],
            executable: "/bin/sh")

        // Then it fails, naming the sweep that stands all the same, whose trials wait
        #expect(full.status == 1)
        #expect(full.stderr == "Error: Cannot write to standard output: No space left on device. Sweep 1 was created all the same; `mnistlab worker --sweep 1` trains it.\n")
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*) FROM trials WHERE status = 'pending'"]).lines.last == "2")
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
        process.waitForExit()

        // Then it exits 130 and both runs are interrupted, resumable, none left running
        #expect(process.terminationStatus == 130)
        let statuses = try sandbox.run(["sql", "--csv", "SELECT status, epochs_done > 0 FROM run_summary ORDER BY id"])
        #expect(statuses.lines.dropFirst() == ["interrupted,1", "interrupted,1"])
    }

    @Test func oneAtATimeOrInParallelEachTrialIsReportedInOneFormat() throws {
        // Given the same 2 × 2 grid swept one at a time and two at a time
        func sweep(parallel: Int) throws -> (trialLines: [String], output: Output, sandbox: Sandbox) {
            let sandbox = try Sandbox()
            let output = try sandbox.run([
                "sweep", "--seed", "1,2", "--momentum", "0,0.9", "--hidden", "16", "--epochs", "2",
                "--val-size", "200", "--batch-size", "50", "--parallel", "\(parallel)",
            ])
            #expect(output.status == 0, "\(output.stderr)")
            // Run ids depend on which worker claimed first; the rest does not.
            let lines = output.lines.filter { $0.hasPrefix("[") }.map {
                $0.replacing(#/run \d+ /#, with: "run R ")
            }
            return (lines.sorted(), output, sandbox)
        }
        let one = try sweep(parallel: 1), two = try sweep(parallel: 2)

        // Then both report each trial by the same lines, started and completed with its best
        // validation loss, and one at a time also shows each run's epochs
        #expect(one.trialLines == two.trialLines)
        #expect(one.trialLines.count == 8, "\(one.output.stdout)")
        #expect(one.trialLines.contains { $0.hasPrefix("[3/4] momentum=0.9,seed=1: run R completed, best val loss ") })
        #expect(one.output.lines.filter { $0.hasPrefix("epoch ") }.count == 8, "\(one.output.stdout)")
        #expect(!two.output.lines.contains { $0.hasPrefix("epoch ") }, "\(two.output.stdout)")

        // And `sweeps 1` ranks the runs with the swept settings' columns
        let ranking = try one.sandbox.run(["sweeps", "1"])
        let header = ranking.lines.drop { $0 != "ranked by best validation loss:" }.dropFirst().first ?? ""
        #expect(["lr", "hidden", "momentum", "seed", "best val loss"].allSatisfy(header.contains), "\(ranking.stdout)")
    }

    @Test func ctrlCSaysHowToContinueAndResumeFinishesTheSweep() throws {
        // Given a sweep of two long trials, one at a time, interrupted in its first
        let sandbox = try Sandbox()
        let sweep = try Background(
            sandbox,
            [
                "sweep", "--seed", "1,2", "--hidden", "16", "--epochs", "100", "--val-size", "200",
                "--batch-size", "50",
            ], label: "sweep")
        #expect(sweep.waitForLines("epoch ", count: 2), "\(sweep.stderr)")
        sweep.send(SIGINT)

        // Then it exits 130 and says how to continue
        #expect(sweep.wait() == .exit(130), "\(sweep.stderr)")
        #expect(sweep.stderr.contains("sweep 1 stopped; `mnistlab sweep --resume 1` continues it."), "\(sweep.stderr)")
        #expect(try sandbox.rows("SELECT number, status FROM trials ORDER BY number") == ["1,pending", "2,pending"])

        // When it is resumed
        let resumed = try sandbox.run(["sweep", "--resume", "1"])

        // Then the interrupted run continues where it stopped, and every trial completes
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.hasPrefix("sweep 1: 2 of 2 trials left, 1 at a time\n"), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("[1/2] seed=1: started (attempt 2)"), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("resumed after epoch"), "\(resumed.stdout)")
        #expect(
            try sandbox.rows("SELECT t.number, t.status, t.attempts, s.epochs_done FROM trials t JOIN run_summary s ON s.id = t.run_id ORDER BY t.number")
                == ["1,completed,2,100", "2,completed,1,100"])
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "2")
    }

    @Test func resumingAnUnknownSweepIsRefused() throws {
        let sandbox = try Sandbox()
        #expect(try sandbox.train().status == 0)
        let output = try sandbox.run(["sweep", "--resume", "4"])
        #expect(output.status == 1)
        #expect(output.stderr == "Error: There is no sweep 4 in this database; `mnistlab sweeps` lists them.\n")
    }
}
