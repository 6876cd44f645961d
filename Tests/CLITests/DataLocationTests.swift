import Foundation
import TestSupport
import Testing

/// The bundled MNIST is found wherever `mnistlab` runs from, and a `train` that cannot find
/// its data says where it looked and creates no database.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct DataLocationTests {
    /// `mnistlab <arguments>` in the sandbox without MNISTLAB_DATA, through `executable`.
    func runWithoutDataVariable(
        _ sandbox: Sandbox, _ arguments: [String], executable: String = mnistlabBinary,
        environment: [String: String] = [:]
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = sandbox.launch(arguments, executable: executable)
        process.environment?.removeValue(forKey: "MNISTLAB_DATA")
        process.environment?.merge(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = process.waitForExit(reading: [stdout, stderr]).output
        return (
            process.terminationStatus, String(decoding: output[0], as: UTF8.self),
            String(decoding: output[1], as: UTF8.self)
        )
    }

    @Test func trainFindsTheBundledDataFromAnotherDirectory() throws {
        // Given a link to the built binary in a directory with no Data/mnist, and no
        // MNISTLAB_DATA or --data
        let sandbox = try Sandbox()
        let link = sandbox.directory.appendingPathComponent("mnistlab-link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: mnistlabBinary)

        // When it trains a quick run
        let output = try runWithoutDataVariable(
            sandbox,
            ["train", "--epochs", "1", "--train-limit", "100", "--val-size", "100", "--hidden", "8", "--batch-size", "50"],
            executable: link)

        // Then it found the repository's Data/mnist above the binary's real path
        #expect(output.status == 0, "\(output.stderr)")
        let recorded = try sandbox.run(["sql", "--csv", "SELECT dataset_path FROM runs"])
        #expect(recorded.lines.last == repositoryRoot.appendingPathComponent("Data/mnist").path)
    }

    @Test func benchFindsItsNumpyScriptAsItFindsTheData() throws {
        // Given a directory outside the repository (no Benchmarks/ in it), and first on PATH a
        // `python3` that notes how it is called and answers as the numpy script does (the
        // script's own epoch on the full set cost some 6 CPU-s where python3 has numpy, and
        // nothing where it has not: this sees the call either way)
        let sandbox = try Sandbox()
        let bin = sandbox.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let calls = sandbox.path("python3-calls")
        let stub = """
            #!/bin/sh
            echo "$*" >> '\(calls)'
            [ "$1" = -c ] && exit 0
            echo '{"numpy": "stub", "blas": "none", "median_train_seconds": 3, "median_evaluate_seconds": 1, "validation_accuracy": 0.5}'
            """
        try stub.write(toFile: sandbox.path("python3.sh"), atomically: false, encoding: .utf8)
        // (installed by a process of its own: a file this process wrote could not be run while
        // a child forked beside it held it open, as `copyMnistlab` says)
        _ = try run("/usr/bin/install", ["-m", "0755", sandbox.path("python3.sh"), bin + "/python3"])
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")

        // When bench runs there, on the bundled data, found above the binary's real path
        let output = try runWithoutDataVariable(
            sandbox, ["bench", "--epochs", "1", "--hidden", "8", "--json"], environment: ["PATH": path])

        // Then it found Benchmarks/numpy_epoch.py in the repository and ran it with python3 on
        // the same data and shape, and reports what it printed
        #expect(output.status == 0, "\(output.stderr)")
        #expect(!output.stderr.contains("no script at"), "\(output.stderr)")
        let repository = repositoryRoot.path
        #expect(
            try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n") == [
                "-c import numpy",
                "\(repository)/Benchmarks/numpy_epoch.py --epochs 1 --data \(repository)/Data/mnist --hidden 8 --activation sigmoid",
            ])
        let report = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        #expect((report?["numpy"] as? [String: Any])?["numpy"] as? String == "stub", "\(output.stdout)")
        #expect(report?["speedup_vs_numpy"] is Double, "\(output.stdout)")
    }

    @Test func trainWithoutDataSaysWhereItLookedAndCreatesNoDatabase() throws {
        // Given a copy of the binary outside the repository, run from a directory without data
        let sandbox = try Sandbox()
        let copy = sandbox.directory.appendingPathComponent("mnistlab-copy").path
        try copyMnistlab(to: copy)

        // When it is asked to train
        let output = try runWithoutDataVariable(sandbox, ["train", "--epochs", "1"], executable: copy)

        // Then one line says where it looked and how to point it at the data
        #expect(output.status == 1)
        #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
        #expect(
            output.stderr.hasPrefix(
                "Error: Cannot find the MNIST files: looked in ./Data/mnist (\(sandbox.directory.appendingPathComponent("Data/mnist").path)) and in Data/mnist in every folder above \(copy)"),
            "\(output.stderr)")
        #expect(output.stderr.hasSuffix("pass --data DIR or set MNISTLAB_DATA to a directory with the four MNIST IDX files.\n"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func namedDirectoryWithoutTheFilesCreatesNoDatabase() throws {
        let sandbox = try Sandbox()
        for (arguments, environment, named) in [
            (["train", "--data", "/nonexistent"], [String: String](), "--data"),
            (["train"], ["MNISTLAB_DATA": "/nonexistent"], "MNISTLAB_DATA"),
        ] {
            let output = try runWithoutDataVariable(sandbox, arguments, environment: environment)
            #expect(output.status == 1)
            #expect(
                output.stderr == "Error: Cannot find train-images-idx3-ubyte.gz (or train-images-idx3-ubyte) in /nonexistent; \(named) must name a directory holding the four MNIST IDX files.\n")
            #expect(!FileManager.default.fileExists(atPath: sandbox.database))
        }
        let empty = try runWithoutDataVariable(sandbox, ["train"], environment: ["MNISTLAB_DATA": ""])
        #expect(empty.stderr == "Error: MNISTLAB_DATA is set but empty; unset it or set it to the directory of the MNIST files.\n")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }
}
