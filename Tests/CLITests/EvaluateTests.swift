import Foundation
import TestSupport
import Testing

/// `evaluate` on the small dataset's 100 test images.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct EvaluateTests {
    func json(_ sandbox: Sandbox, _ arguments: [String]) throws -> [String: Any] {
        let output = try sandbox.run(arguments + ["--json"])
        #expect(output.status == 0, "\(output.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    @Test func evaluationIsPrintedAndStored() throws {
        // Given a finished run
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3"])

        // When its best checkpoint is evaluated
        let result = try json(sandbox, ["evaluate", "1"])

        // Then the matrix counts every test image once, and accuracy is its diagonal
        let matrix = try #require(result["confusion"] as? [[Int]])
        #expect(matrix.count == 10 && matrix.allSatisfy { $0.count == 10 })
        #expect(matrix.joined().reduce(0, +) == 100 && result["test_size"] as? Int == 100)
        let correct = (0..<10).map { matrix[$0][$0] }.reduce(0, +)
        #expect(result["test_accuracy"] as? Double == Double(correct) / 100)
        let best = try sandbox.run(["sql", "--csv", "SELECT best_epoch FROM run_summary WHERE id = 1"]).lines[1]
        #expect("\(result["epoch"] ?? "")" == best)

        // And the tables hold the same numbers for plain SQL
        let stored = try sandbox.run([
            "sql", "--csv",
            "SELECT e.test_size, (SELECT sum(count) FROM confusion c WHERE c.run_id = 1), (SELECT count(*) FROM confusion), (SELECT sum(correct) FROM class_accuracy WHERE run_id = 1) FROM evaluations e",
        ])
        #expect(stored.lines.last == "100,100,100,\(correct)")
    }

    @Test func tableShowsTheMatrixWithPerClassAccuracy() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "2"])
        let output = try sandbox.run(["evaluate", "1", "--epoch", "last"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines[0].hasPrefix("run 1 (run-1), epoch 2, on 100 test images"))
        #expect(output.lines[1].hasPrefix("test loss "))
        let header = try #require(output.lines.first { $0.hasPrefix("true") })
        #expect(header.split(separator: " ") == ["true", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "images", "accuracy"])
        #expect(output.lines.filter { $0.hasSuffix("%") && $0.first == " " }.count == 10)
    }

    @Test func evaluatingAgainReplacesTheRow() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "2", "--keep-every", "1"])
        for epoch in ["1", "2", "1"] { _ = try json(sandbox, ["evaluate", "1", "--epoch", epoch]) }
        let rows = try sandbox.run(["sql", "--csv", "SELECT epoch, (SELECT count(*) FROM confusion c WHERE c.epoch = e.epoch) FROM evaluations e ORDER BY epoch"])
        #expect(rows.lines.dropFirst() == ["1,100", "2,100"])
    }

    @Test func refusalsAreOneLine() throws {
        // Given a run with checkpoints at epochs 2 and 3 only
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3", "--keep-every", "2"])

        // Then each refusal names the problem
        let cases: [([String], String)] = [
            (["evaluate", "9"], "Error: There is no run 9 in this database"),
            (["evaluate", "1", "--epoch", "1"], "Error: Run 1 kept no checkpoint at epoch 1; epochs with a checkpoint: 2, 3."),
            (["evaluate", "1", "--epoch", "soon"], "Error: The value 'soon' is invalid for '--epoch <epoch>': give best, last or an epoch number from 1."),
            (["evaluate", "1", "--epoch", "-3"], "Error: The value '-3' is invalid for '--epoch <epoch>': give best, last or an epoch number from 1."),
            (["predict", "1", "--epoch", "0", "x.png"], "Error: The value '0' is invalid for '--epoch <epoch>': give best, last or an epoch number from 1."),
            (["export-weights", "1", "--epoch", "", "-o", "w.bin"], "Error: The value '' is invalid for '--epoch <epoch>': give best, last or an epoch number from 1."),
            (["resume", "1", "--from", "0"], "Error: The value '0' is invalid for '--from <from>': give best, last or an epoch number from 1."),
        ]
        for (arguments, message) in cases {
            let output = try sandbox.run(arguments)
            #expect(output.status != 0)
            #expect(output.stderr.hasPrefix(message), "\(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
        }
    }

    @Test func anotherDatasetIsRefused() throws {
        // Given a run, and a copy of its dataset with one test label changed
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let copy = sandbox.directory.appendingPathComponent("other-mnist")
        try FileManager.default.copyItem(atPath: smallMNIST, toPath: copy.path)
        let labels = copy.appendingPathComponent("t10k-labels-idx1-ubyte")
        var bytes = try Data(contentsOf: labels)
        bytes[8] = (bytes[8] + 1) % 10
        try bytes.write(to: labels)

        // When the run is evaluated on the copy
        let output = try sandbox.run(["evaluate", "1", "--data", copy.path])

        // Then it is refused, and nothing is stored
        #expect(output.status == 1)
        #expect(output.stderr.hasPrefix("Error: The dataset in \(copy.path) (crc32:"), "\(output.stderr)")
        #expect(output.stderr.contains("is not the one run 1 trained on"))
        #expect(try sandbox.run(["sql", "--csv", "SELECT count(*) FROM evaluations"]).lines.last == "0")
    }
}
