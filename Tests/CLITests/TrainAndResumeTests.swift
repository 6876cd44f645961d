import Foundation
import TestSupport
import Testing

/// `train` and `resume` driven through the real binary against a temporary database.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct TrainAndResumeTests {
    @Test func trainRecordsTheRunEpochByEpoch() throws {
        // Given an empty sandbox
        let sandbox = try Sandbox()

        // When a two-epoch run trains
        let output = try sandbox.train(["--name", "quick"])

        // Then it prints a line per epoch, ends completed, and the database holds it all
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines.filter { $0.hasPrefix("epoch ") }.count == 2)
        #expect(output.lines.last == "run 1 completed")
        let rows = try sandbox.run([
            "sql", "--csv",
            "SELECT name, status, epochs_done, train_size, val_size, batch_size FROM run_summary",
        ])
        #expect(rows.lines == ["name,status,epochs_done,train_size,val_size,batch_size", "quick,completed,2,1000,200,50"])
    }

    @Test(arguments: [0.0, 0.9])
    func resumeFromLastIsByteIdenticalToAnUninterruptedRun(momentum: Double) throws {
        // Given a six-epoch run, and a three-epoch run with the same seed
        let sandbox = try Sandbox()
        let settings = ["--seed", "7", "--momentum", "\(momentum)", "--keep-every", "1"]
        try sandbox.train(["--epochs", "6"] + settings)
        try sandbox.train(["--epochs", "3"] + settings)

        // When the short run is resumed up to epoch 6
        let resumed = try sandbox.run(["resume", "2", "--epochs", "6"])

        // Then it continued in place, and weights, momentum and metrics match exactly
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.lines.first?.contains("resumed after epoch 3") == true)
        let checkpoints = try sandbox.run([
            "sql", "--csv",
            "SELECT run_id, hex(weights), hex(velocity), checksum FROM checkpoints WHERE epoch = 6 ORDER BY run_id",
        ]).lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst() }
        #expect(checkpoints.count == 2)
        #expect(checkpoints.first == checkpoints.last)
        let metrics = try sandbox.run([
            "sql", "--csv",
            "SELECT run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs ORDER BY run_id, epoch",
        ]).lines.dropFirst().map { $0.split(separator: ",").dropFirst() }
        #expect(metrics.count == 12)
        #expect(Array(metrics[0..<6]) == Array(metrics[6..<12]))
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*) FROM runs"]).lines.last == "2")
    }

    @Test func resumeFromBestForksAChildAndLeavesTheParent() throws {
        // Given a finished run
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3", "--keep-every", "1"])
        let parentBefore = try parentState(sandbox)

        // When it is resumed from its best epoch with a new learning rate
        let fork = try sandbox.run(["resume", "1", "--from", "best", "--learning-rate", "0.01", "--epochs", "5"])

        // Then a child run records the new rate and continues the epoch numbers
        #expect(fork.status == 0, "\(fork.stderr)")
        let best = try sandbox.run(["sql", "--csv", "SELECT best_epoch FROM run_summary WHERE id = 1"]).lines.last!
        let child = try sandbox.run([
            "sql", "--csv",
            "SELECT parent_run_id, parent_epoch, runs.learning_rate, min(e.epoch), max(e.epoch) FROM runs JOIN epochs e ON e.run_id = runs.id WHERE runs.id = 2",
        ]).lines.last
        #expect(child == "1,\(best),0.01,\(Int(best)! + 1),5")
        #expect(try parentState(sandbox) == parentBefore)
    }

    @Test func resumeWithNothingLeftToDoCreatesNothingAndSucceeds() throws {
        // Given a finished run whose best epoch is (or is not) its last
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "4", "--keep-every", "1"])
        let before = try parentState(sandbox)

        // When it is resumed without a flag that asks for more, from its default, best or an
        // earlier epoch with its own settings
        for arguments in [["resume", "1"], ["resume", "1", "--from", "best"], ["resume", "1", "--from", "2", "--epochs", "3"]] {
            let output = try sandbox.run(arguments)

            // Then each exits 0 with one line saying what to pass, and nothing is created
            #expect(output.status == 0, "\(arguments): \(output.stderr)")
            #expect(output.lines.count == 1, "\(arguments): \(output.stdout)")
            #expect(output.stdout.hasPrefix("run 1: nothing to do"), "\(output.stdout)")
            #expect(output.stdout.contains("--epochs"), "\(output.stdout)")
        }
        #expect(try parentState(sandbox) == before)
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*) FROM runs"]).lines.last == "1")
    }

    @Test func inPlaceResumeRecordsItsNewRetentionAndDataDirectory() throws {
        // Given an interrupted-length run and its dataset copied elsewhere
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "2"])
        let moved = sandbox.directory.appendingPathComponent("moved-data").path
        try FileManager.default.copyItem(atPath: smallMNIST, toPath: moved)

        // When it is resumed in place with another retention and the moved data
        let output = try sandbox.run(["resume", "1", "--epochs", "4", "--keep-every", "3", "--data", moved])

        // Then the run's row says what it now does
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*), keep_every, dataset_path, epochs FROM runs"]).lines.last == "1,3,\(moved),4")
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*) FROM checkpoints WHERE epoch IN (3, 4)"]).lines.last == "2")
    }

    /// Every row of run 1, its epochs and its checkpoints.
    func parentState(_ sandbox: Sandbox) throws -> [String] {
        try [
            "SELECT * FROM runs WHERE id = 1",
            "SELECT * FROM epochs WHERE run_id = 1",
            "SELECT epoch, hex(weights) FROM checkpoints WHERE run_id = 1",
        ].map { try sandbox.run(["sql", "--csv", $0]).stdout }
    }

    @Test func resumeFromAPrunedEpochListsTheResumableOnes() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "5", "--keep-every", "2"])
        let output = try sandbox.run(["resume", "1", "--from", "1", "--learning-rate", "0.05"])
        #expect(output.status == 1)
        #expect(output.stderr.hasPrefix("Error: Run 1 kept no checkpoint at epoch 1; epochs with a checkpoint: 2, 4, 5."))
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test func copiedBinaryMigratesFromAnyDirectory() throws {
        // Given the binary copied into an empty directory
        let sandbox = try Sandbox()
        let copy = sandbox.directory.appendingPathComponent("mnistlab-copy").path
        try copyMnistlab(to: copy)

        // When it creates a database there
        let process = Process()
        process.executableURL = URL(fileURLWithPath: copy)
        process.arguments = ["db", "migrate", "--db", sandbox.directory.appendingPathComponent("fresh.sqlite").path]
        process.currentDirectoryURL = sandbox.directory
        let pipe = Pipe()
        process.standardOutput = pipe
        _ = FileManager.default.createFile(atPath: sandbox.directory.appendingPathComponent("fresh.sqlite").path, contents: nil)
        try process.run()
        let text = String(decoding: process.waitForExit(reading: [pipe]).output[0], as: UTF8.self)

        // Then the embedded migrations were applied
        #expect(process.terminationStatus == 0)
        #expect(text.contains("0001_init"))
    }
}
