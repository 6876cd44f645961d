import Foundation
import TestSupport
import Testing

/// `export` (metrics with hyperparameters) and `export-weights` (the raw checkpoint).
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct ExportTests {
    let sandbox: Sandbox

    init() throws {
        sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3", "--learning-rate", "0.25", "--name", "a, \"quoted\" run", "--keep-every", "1"])
    }

    @Test func csvHasOneRowPerEpochWithTheSettings() throws {
        // When the run is exported as CSV
        let output = try sandbox.run(["export", "1"])

        // Then each epoch is a row, with the run's settings as columns
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines.count == 4)
        let header = output.lines[0].split(separator: ",").map(String.init)
        #expect(header.prefix(6) == ["run_id", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"])
        #expect(header.contains("learning_rate") && header.contains("hidden") && header.contains("activation"))
        let metrics = try sandbox.run(["sql", "--csv", "SELECT run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs ORDER BY epoch"])
        for (row, expected) in zip(output.lines.dropFirst(), metrics.lines.dropFirst()) {
            #expect(row.hasPrefix(expected + ","))
            #expect(row.contains(",\"a, \"\"quoted\"\" run\",completed,"))
            #expect(row.contains(",0.25,50,0.0,100,sigmoid,cross-entropy,1,"))
        }
    }

    @Test func jsonHasTheRunAndItsEpochs() throws {
        // When the run is exported as JSON to a file
        let file = sandbox.directory.appendingPathComponent("run.json").path
        let output = try sandbox.run(["export", "1", "--format", "json", "-o", file])

        // Then the file holds the run_summary row and the epochs
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == "Wrote 3 epochs of run 1 to \(file).\n")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        let run = try #require(object["run"] as? [String: Any])
        #expect(run["learning_rate"] as? Double == 0.25 && run["best_epoch"] as? Int != nil)
        let epochs = try #require(object["epochs"] as? [[String: Any]])
        #expect(epochs.map { $0["epoch"] as? Int } == [1, 2, 3])
    }

    @Test func exportedWeightsAreTheCheckpointBlob() throws {
        for epoch in ["2", "best"] {
            // When a checkpoint's weights are exported
            let file = sandbox.directory.appendingPathComponent("model-\(epoch).bin").path
            let output = try sandbox.run(["export-weights", "1", "--epoch", epoch, "-o", file])
            #expect(output.status == 0, "\(output.stderr)")

            // Then the file is byte for byte the stored blob
            let number = epoch == "best"
                ? try sandbox.run(["sql", "--csv", "SELECT best_epoch FROM run_summary WHERE id = 1"]).lines[1] : epoch
            let blob = try sandbox.run(["sql", "--csv", "SELECT hex(weights) FROM checkpoints WHERE run_id = 1 AND epoch = \(number)"]).lines[1]
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.map { String(format: "%02X", $0) }.joined() == blob)
            #expect(bytes.count == 4 * (785 * 100 + 101 * 10))
        }
    }

    @Test func layoutIsPrintedWithANumpySnippet() throws {
        let file = sandbox.directory.appendingPathComponent("model.bin").path
        let output = try sandbox.run(["export-weights", "1", "-o", file])
        #expect(output.stdout.contains("79510 little-endian Float32 values (318040 bytes)"))
        let rows = output.lines.filter { ($0.hasPrefix("W") || $0.hasPrefix("b")) && $0.dropFirst().first?.isNumber == true }
        #expect(rows.map { $0.split(separator: " ", maxSplits: 1)[0] } == ["W1", "b1", "W2", "b2"])
        #expect(output.stdout.contains("W1 = p[0:78400].reshape(784, 100)"))
        #expect(output.stdout.contains("b2 = p[79500:79510]"))

        let json = try sandbox.run(["export-weights", "1", "-o", file, "--json"])
        let layout = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let tensors = try #require(layout["tensors"] as? [[String: Any]])
        #expect(tensors.map { $0["offset"] as? Int } == [0, 78400, 78500, 79500])
        #expect(tensors.map { $0["shape"] as? [Int] } == [[784, 100], [100], [100, 10], [10]])
    }

    @Test func dashWritesTheWeightsToStandardOutput() throws {
        // When the weights are exported with -o -, as export and report take it
        let process = sandbox.launch(["export-weights", "1", "--epoch", "2", "-o", "-"])
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = process.waitForExit(reading: [stdout, stderr]).output
        let (weights, layout) = (output[0], String(decoding: output[1], as: UTF8.self))

        // Then standard output is the blob, the layout is on standard error, and no file
        // named '-' is written
        #expect(process.terminationStatus == 0, "\(layout)")
        let blob = try sandbox.run(["sql", "--csv", "SELECT weights FROM checkpoints WHERE run_id = 1 AND epoch = 2"]).lines[1]
        #expect(weights.map { String(format: "%02X", $0) }.joined() == blob)
        #expect(layout.hasPrefix("Wrote run 1's weights after epoch 2 to standard output: 79510 little-endian Float32 values"))
        #expect(layout.contains("W1 = p[0:78400].reshape(784, 100)"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.directory.appendingPathComponent("-").path))
    }

    @Test func refusalsAreOneLine() throws {
        for (arguments, message) in [
            (["export", "9"], "Error: There is no run 9"),
            (["export", "1", "--format", "xml"], "Error: The value 'xml' is invalid for '--format <format>'"),
            (["export-weights", "1", "--epoch", "7", "-o", "x.bin"], "Error: Run 1 has no epoch 7; its last recorded epoch is 3."),
            (["export-weights", "1"], "Error: Missing expected argument '--output <output>'"),
        ] {
            let output = try sandbox.run(arguments)
            #expect(output.status != 0)
            #expect(output.stderr.hasPrefix(message), "\(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
        }
    }
}
