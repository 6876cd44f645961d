import Datasets
import Foundation
import Prediction
import TestSupport
import Testing

/// `predict` on the small dataset's test images, written out as PNG and PGM files.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct PredictTests {
    /// The small dataset's 100 test images and labels.
    func testImages() throws -> (images: [[UInt8]], labels: [UInt8]) {
        let images = try IDXArray.read(path: smallMNIST + "/t10k-images-idx3-ubyte", rank: 3)
        let labels = try IDXArray.read(path: smallMNIST + "/t10k-labels-idx1-ubyte", rank: 1)
        let count = labels.bytes.count
        return ((0..<count).map { Array(images.bytes[$0 * 784..<($0 + 1) * 784]) }, labels.bytes)
    }

    @Test func predictionsMatchWhatEvaluateCounts() throws {
        // Given a trained run and its 100 test images as files, PNG and PGM alternately
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3"])
        let (images, labels) = try testImages()
        var files: [String] = []
        for (n, pixels) in images.enumerated() {
            let image = GrayImage(width: 28, height: 28, pixels: pixels)
            let name = sandbox.directory.appendingPathComponent(
                n % 2 == 0 ? "digit\(n).png" : "digit\(n).pgm")
            try Data(n % 2 == 0 ? image.png() : image.pgm()).write(to: name)
            files.append(name.path)
        }

        // When predict classifies them with the best checkpoint
        let output = try sandbox.run(["predict", "1"] + files + ["--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])

        // Then its confusion matrix is evaluate's, and every row is a distribution
        #expect(rows.count == 100)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
        for (row, label) in zip(rows, labels) {
            let predicted = try #require(row["label"] as? Int)
            confusion[Int(label)][predicted] += 1
            let p = try #require(row["probabilities"] as? [Double])
            #expect(p.count == 10 && abs(p.reduce(0, +) - 1) < 1e-4)
            #expect(p.firstIndex(of: p.max() ?? 0) == predicted)
        }
        let evaluated = try sandbox.run(["evaluate", "1", "--json"])
        let result = try #require(
            try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        #expect(result["confusion"] as? [[Int]] == confusion)
        #expect(rows.allSatisfy { "\($0["epoch"] ?? "")" == "\(result["epoch"] ?? "")" })
    }

    @Test func tableNamesEachFile() throws {
        let sandbox = try Sandbox()
        try sandbox.train()
        let (images, _) = try testImages()
        let file = sandbox.directory.appendingPathComponent("seven.png")
        try Data(GrayImage(width: 28, height: 28, pixels: images[0]).png()).write(to: file)
        let output = try sandbox.run(["predict", "1", "--epoch", "last", file.path])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines[0] == "run 1 (run-1), epoch 2")
        #expect(output.lines[1].split(separator: " ").prefix(4) == ["file", "label", "probability", "0"])
        #expect(output.lines[2].hasPrefix(file.path))
    }

    @Test func errorsAreOneLine() throws {
        let sandbox = try Sandbox()
        try sandbox.train()
        let text = sandbox.directory.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: text)
        let blank = sandbox.directory.appendingPathComponent("blank.pgm")
        try Data(GrayImage(width: 9, height: 9, pixels: .init(repeating: 0, count: 81)).pgm())
            .write(to: blank)
        let (images, _) = try testImages()
        let good = sandbox.directory.appendingPathComponent("good.png")
        try Data(GrayImage(width: 28, height: 28, pixels: images[0]).png()).write(to: good)

        let cases: [([String], String)] = [
            (["predict", "1", "missing.png"], "Error: Cannot read missing.png: no such file."),
            (["predict", "1", text.path], "Error: Cannot classify \(text.path): not a PNG or PGM image."),
            (
                ["predict", "1", blank.path],
                "Error: Cannot classify \(blank.path): the image is blank: no digit stands out from its background."
            ),
            (["predict", "9", good.path], "Error: There is no run 9 in this database. `mnistlab runs` lists the runs."),
        ]
        for (arguments, message) in cases {
            let output = try sandbox.run(arguments)
            #expect(output.status == 1, "\(arguments)")
            #expect(output.stderr == message + "\n", "\(arguments)")
        }
        let noFiles = try sandbox.run(["predict", "1"])
        #expect(noFiles.status == 64)
    }

    @Test func oneBadFileDoesNotHideTheOthers() throws {
        // Given a trained run, two digits and a file that is not an image between them
        let sandbox = try Sandbox()
        try sandbox.train()
        let (images, _) = try testImages()
        let first = sandbox.directory.appendingPathComponent("first.png")
        try Data(GrayImage(width: 28, height: 28, pixels: images[0]).png()).write(to: first)
        let last = sandbox.directory.appendingPathComponent("last.pgm")
        try Data(GrayImage(width: 28, height: 28, pixels: images[1]).pgm()).write(to: last)
        let files = [first.path, "missing.png", last.path]

        // When predict is given all three, as a table and as JSON
        let table = try sandbox.run(["predict", "1"] + files)
        let json = try sandbox.run(["predict", "1", "--json"] + files)

        // Then each good file has its row, the bad one its own error line, and the exit is 1
        for output in [table, json] {
            #expect(output.status == 1)
            #expect(output.stderr == "Error: Cannot read missing.png: no such file.\n", "\(output.stderr)")
        }
        #expect(table.lines.count == 4, "\(table.stdout)")
        #expect(table.lines[2].hasPrefix(first.path) && table.lines[3].hasPrefix(last.path))
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["file"] as? String } == files)
        #expect(rows[0]["label"] is Int && rows[2]["label"] is Int && rows[1]["label"] == nil)
        #expect(rows[1]["error"] as? String == "Cannot read missing.png: no such file.")
    }

    @Test func dashReadsTheImageFromStandardInput() throws {
        // Given a trained run and a digit as a PNG file
        let sandbox = try Sandbox()
        try sandbox.train()
        let (images, _) = try testImages()
        let file = sandbox.directory.appendingPathComponent("digit.png")
        try Data(GrayImage(width: 28, height: 28, pixels: images[0]).png()).write(to: file)

        // When predict reads it from standard input, and from the file
        let process = sandbox.launch(["predict", "1", "-", "--json"])
        process.standardInput = try FileHandle(forReadingFrom: file)
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let piped = process.waitForExit(reading: [stdout]).output[0]
        let named = try sandbox.run(["predict", "1", file.path, "--json"])

        // Then both give the same prediction
        #expect(process.terminationStatus == 0)
        let fromPipe = try #require(try JSONSerialization.jsonObject(with: piped) as? [[String: Any]])
        let fromFile = try #require(
            try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [[String: Any]])
        #expect(fromPipe.first?["file"] as? String == "-")
        #expect(fromPipe.first?["probabilities"] as? [Double] == fromFile.first?["probabilities"] as? [Double])
        // And '-' twice is refused
        #expect(try sandbox.run(["predict", "1", "-", "-"]).status == 64)
    }
}
