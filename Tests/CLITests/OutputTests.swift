import Datasets
import Foundation
import Prediction
import TestSupport
import Testing

/// Every command writes standard output through one path: a write that fails (a full disk)
/// is one line and exit 1, a closed pipe ends a query as it ends `cat`, and nothing claims a
/// success after a failed write.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct OutputTests {
    static let fullDisk = "Error: Cannot write to standard output: No space left on device.\n"

    /// How a process run by `launchedWith` ended, and its standard error.
    struct Ending {
        var reason: Process.TerminationReason
        var status: Int32
        var stderr: String
    }

    /// `mnistlab <arguments>` in `sandbox` with standard output on `output`.
    func run(_ sandbox: Sandbox, _ arguments: [String], output: Any) throws -> Ending {
        let process = sandbox.launch(arguments)
        process.standardOutput = output
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let text = process.waitForExit(reading: [stderr]).output[0]
        return Ending(
            reason: process.terminationReason, status: process.terminationStatus,
            stderr: String(decoding: text, as: UTF8.self))
    }

    func fullDisk() throws -> FileHandle {
        try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
    }

    /// Two trained runs, a digit as a PGM file, and a second store to import.
    func populated() throws -> (sandbox: Sandbox, image: String, source: String) {
        let sandbox = try Sandbox()
        try sandbox.train()
        try sandbox.train(["--learning-rate", "0.2"])
        let image = sandbox.directory.appendingPathComponent("digit.pgm")
        let digits = try IDXArray.read(path: smallMNIST + "/t10k-images-idx3-ubyte", rank: 3)
        try Data(GrayImage(width: 28, height: 28, pixels: Array(digits.bytes.prefix(784))).pgm())
            .write(to: image)
        let source = sandbox.directory.appendingPathComponent("other.sqlite").path
        #expect(try sandbox.train(["--db", source]).status == 0)
        return (sandbox, image.path, source)
    }

    @Test func everyCommandFailsInOneLineOnAFullDisk() throws {
        // Given a store with two runs
        let (sandbox, image, source) = try populated()
        let file = sandbox.directory.appendingPathComponent("out").path
        let commands: [[String]] = [
            ["runs"], ["runs", "--json"], ["show", "1"], ["show", "1", "--json"], ["best", "1"],
            ["best"], ["compare", "1", "2"], ["compare", "1", "2", "--json"],
            ["sql", "SELECT 1"], ["sql", "--csv", "SELECT 1"], ["sql", "--json", "SELECT 1"],
            ["sweeps"], ["db", "status"], ["db", "status", "--json"], ["evaluate", "1"],
            ["evaluate", "1", "--json"], ["predict", "1", image], ["predict", "1", image, "--json"],
            ["import", source], ["export", "1"], ["export", "1", "-o", file + ".csv"],
            ["report", "1", "-o", "-"], ["report", "1", "-o", file + ".html"],
            ["export-weights", "1", "-o", "-"], ["export-weights", "1", "-o", file + ".bin"],
            ["tag", "1", "baseline"], ["untag", "1", "baseline"], ["note", "1", "why"],
            ["rename", "2", "second"], ["rm", "2", "--dry-run"], ["prune", "--keep", "best,last", "--dry-run"],
            ["--help"], ["--version"], ["train", "--help"], ["serve", "--port", "0"],
        ]

        // When each writes to a full disk
        for command in commands {
            let ending = try run(sandbox, command, output: try fullDisk())

            // Then it says so in one line and exits 1
            #expect(ending.reason == .exit && ending.status == 1, "\(command): \(ending.status)")
            #expect(ending.stderr == Self.fullDisk, "\(command): \(ending.stderr)")
        }
    }

    @Test func trainingOnAFullDiskFinishesTheRunAndThenFails() throws {
        // Given an empty store
        let sandbox = try Sandbox()

        // When a run and then a sweep train with standard output on a full disk
        let train = try run(
            sandbox, ["train", "--epochs", "2", "--val-size", "200", "--batch-size", "50"],
            output: try fullDisk())
        let sweep = try run(
            sandbox,
            ["sweep", "--seed", "1,2", "--epochs", "1", "--val-size", "200", "--batch-size", "100"],
            output: try fullDisk())

        // Then each trained to the end (the store is the record), and exits 1 saying why
        #expect(train.status == 1 && train.stderr == Self.fullDisk, "\(train.stderr)")
        #expect(sweep.status == 1 && sweep.stderr.hasSuffix(Self.fullDisk), "\(sweep.stderr)")
        let statuses = try sandbox.run(["sql", "--csv", "SELECT status FROM runs ORDER BY id"])
        #expect(statuses.lines.dropFirst() == ["completed", "completed", "completed"])
    }

    @Test(arguments: [
        ["sql", "--csv", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT i FROM n"],
        ["export-weights", "1", "-o", "-"], ["export", "1"], ["runs"], ["show", "1"], ["--help"],
    ])
    func closedPipeEndsTheCommandQuietly(command: [String]) throws {
        // Given a trained run, and a reader that has gone before the command writes
        let sandbox = try Sandbox()
        try sandbox.train()
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()

        // When the command writes into the closed pipe
        let ending = try run(sandbox, command, output: pipe)

        // Then it ends as `cat` does, killed by SIGPIPE without a word, claiming nothing
        #expect(ending.reason == .uncaughtSignal && ending.status == SIGPIPE, "\(ending)")
        #expect(ending.stderr.isEmpty, "\(ending.stderr)")
    }
}
