import Datasets
import Foundation
import TestSupport
import Testing

/// `export-model`'s files checked by the libraries people load them with: onnx's checker,
/// ONNX Runtime and safetensors, from the test-only virtual environment that `.ci/run` makes
/// and names in MNISTLAB_TEST_PYTHON. Outside CI without it these tests are skipped.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ModelExportRuntimeTests {
    static let python = TestPython.path
    static let enabled = TestPython.enabled
    static let script = TestPython.script("check_model_export.py")

    /// The networks of the issue: the seed network, a deep ReLU one, a leaky-ReLU one and an
    /// MSE-trained one.
    static let networks: [(String, [String])] = [
        ("seed", []),
        ("deep relu", ["--hidden", "128,64,32", "--activation", "relu", "--learning-rate", "0.05"]),
        ("leaky relu", ["--hidden", "64", "--activation", "leaky-relu"]),
        ("mse", ["--loss", "mse", "--learning-rate", "0.5"]),
    ]

    /// `check_model_export.py` with `arguments`: its JSON findings.
    func check(_ arguments: [String], in sandbox: Sandbox) throws -> [String: Any] {
        let python = try #require(Self.python, "MNISTLAB_TEST_PYTHON is not set (.ci/run sets it)")
        let output = try sandbox.run([Self.script] + arguments, executable: python)
        #expect(output.status == 0, "\(output.stderr)")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
            "\(output.stdout) \(output.stderr)")
    }

    @Test(
        .enabled(if: enabled, "needs MNISTLAB_TEST_PYTHON, a python with onnx, onnxruntime, safetensors and numpy"),
        arguments: 0..<networks.count)
    func onnxRuntimeAgreesWithPredictOnAThousandTestImages(_ index: Int) throws {
        // Given a trained run and the first 1,000 test images of MNIST as PGM files and raw bytes
        let (name, settings) = Self.networks[index]
        let sandbox = try Sandbox()
        let trained = try sandbox.train(["--epochs", "3"] + settings)
        try #require(trained.status == 0, "\(name): \(trained.stderr)")
        let images = try IDXArray.read(
            path: repositoryRoot.appendingPathComponent("Data/mnist/t10k-images-idx3-ubyte.gz").path,
            rank: 3)
        let pixels = Array(images.bytes.prefix(1_000 * 784))
        let directory = sandbox.directory.appendingPathComponent("digits")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [String] = []
        for i in 0..<1_000 {
            let file = directory.appendingPathComponent("\(i).pgm").path
            try Data(Array("P5\n28 28\n255\n".utf8) + pixels[i * 784..<(i + 1) * 784])
                .write(to: URL(fileURLWithPath: file))
            files.append(file)
        }
        let raw = sandbox.directory.appendingPathComponent("pixels.u8").path
        try Data(pixels).write(to: URL(fileURLWithPath: raw))

        // When the best checkpoint is exported both ways, and predict classifies the images
        // with the run and with the ONNX file
        for arguments in [["-o", "model.onnx"], ["--uint8-input", "-o", "raw.onnx"]] {
            let exported = try sandbox.run(["export-model", "1"] + arguments)
            #expect(exported.status == 0, "\(name): \(exported.stderr)")
        }
        let predicted = try sandbox.run(["predict", "1", "--json"] + files)
        try #require(predicted.status == 0, "\(name): \(predicted.stderr)")
        let expected = sandbox.directory.appendingPathComponent("expected.json").path
        try Data(predicted.stdout.utf8).write(to: URL(fileURLWithPath: expected))
        let viaONNX = try sandbox.run(["predict", "model.onnx", "--json"] + files)
        let summary = try sandbox.run([
            "sql", "--csv",
            "SELECT s.best_epoch, s.best_val_loss, s.best_val_accuracy, r.dataset_checksum, r.uid "
                + "FROM run_summary s JOIN runs r ON r.id = s.id WHERE s.id = 1",
        ])
        let facts = try #require(summary.lines.last, "\(summary.stderr)").split(separator: ",").map(String.init)
        try #require(facts.count == 5, "\(summary.stdout)")

        // Then predict gives the same bits from the ONNX file as from the run
        #expect(viaONNX.status == 0 && viaONNX.stdout == predicted.stdout, "\(name): \(viaONNX.stderr)")
        // and ONNX Runtime agrees with it within 1e-5 on every image, float32 or uint8 input
        let results = try check(["onnx", raw, expected, "model.onnx:float", "raw.onnx:uint8"], in: sandbox)
        for (file, type) in [("model.onnx", "float"), ("raw.onnx", "uint8")] {
            let result = try #require(results[file] as? [String: Any], "\(name), \(file): \(results)")
            #expect(result["images"] as? Int == 1_000)
            let difference = try #require(result["max_difference"] as? Double)
            #expect(difference <= 1e-5, "\(name), \(file): \(difference)")
            #expect(result["argmax_disagreements"] as? Int == 0, "\(name), \(file)")
            #expect(result["producer"] as? String == "mnistlab")
            let inputs = result["inputs"] as? [[Any]]
            #expect(inputs?.first?[0] as? String == "image")
            #expect(inputs?.first?[1] as? String == "tensor(\(type))")
            #expect(inputs?.first?[2] as? [String] == ["N", "784"])
            let outputs = result["outputs"] as? [[Any]]
            #expect(outputs?.first?[0] as? String == "probabilities")
            #expect(outputs?.first?[2] as? [String] == ["N", "10"])
            #expect((result["doc_string"] as? String)?.contains("by 255") == true)
            // with the run's facts in its metadata
            let metadata = try #require(result["metadata"] as? [String: String])
            #expect(metadata["run_id"] == "1" && metadata["epoch"] == facts[0])
            #expect(metadata["val_loss"].flatMap(Double.init) == Double(facts[1]))
            #expect(metadata["val_accuracy"].flatMap(Double.init) == Double(facts[2]))
            #expect(metadata["dataset_checksum"] == facts[3] && metadata["run_uid"] == facts[4])
            #expect(metadata["mnistlab_version"]?.isEmpty == false)
        }
    }

    @Test(.enabled(if: enabled, "needs MNISTLAB_TEST_PYTHON, a python with onnx, onnxruntime, safetensors and numpy"))
    func safetensorsLoadsWithTheCheckpointBytes() throws {
        // Given a deep run, its checkpoint blob and its safetensors file
        let sandbox = try Sandbox()
        try sandbox.train(["--hidden", "32,16", "--activation", "relu"])
        #expect(try sandbox.run(["export-weights", "1", "-o", "blob.bin"]).status == 0)
        let exported = try sandbox.run(["export-model", "1", "-o", "model.safetensors"])
        #expect(exported.status == 0, "\(exported.stderr)")

        // When the safetensors library loads it
        let result = try check(["safetensors", "model.safetensors", "blob.bin"], in: sandbox)

        // Then its tensors are named, shaped and typed, and hold exactly the checkpoint's bytes
        #expect(result["names"] as? [String] == [
            "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
            "layers.2.weight", "layers.2.bias",
        ])
        #expect(result["shapes"] as? [[Int]] == [[784, 32], [32], [32, 16], [16], [16, 10], [10]])
        #expect((result["dtypes"] as? [String])?.allSatisfy { $0 == "float32" } == true)
        #expect(result["bytes_equal"] as? Bool == true)
        let metadata = try #require(result["metadata"] as? [String: String])
        #expect(metadata["run_id"] == "1" && metadata["activation"] == "relu")
        #expect(metadata["epoch"] != nil && metadata["val_loss"] != nil && metadata["run_uid"] != nil)
    }
}
