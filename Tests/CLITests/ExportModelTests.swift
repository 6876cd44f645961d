import Foundation
import TestSupport
import Testing

/// `export-model`'s arguments, failures and outputs, and `predict` with an ONNX file. The
/// files themselves are checked by the runtimes in ModelExportRuntimeTests.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct ExportModelTests {
    let sandbox: Sandbox

    init() throws {
        sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3", "--keep-every", "2"])
    }

    @Test func formatFollowsTheExtensionOrFormat() throws {
        // When the model is written under each name
        let onnx = try sandbox.run(["export-model", "1", "-o", "model.onnx"])
        let safetensors = try sandbox.run(["export-model", "1", "-o", "weights.safetensors"])
        let named = try sandbox.run(["export-model", "1", "--format", "safetensors", "-o", "w.bin"])
        let piped = try sandbox.run(["export-model", "1", "--format", "onnx", "-o", "-"])

        // Then each says what it wrote, and the format is the one named
        #expect(onnx.status == 0 && onnx.stdout.hasPrefix("Wrote run 1's checkpoint of epoch "))
        #expect(safetensors.status == 0 && named.status == 0 && piped.status == 0)
        let file = { (name: String) in fileBytes(self.sandbox.directory.appendingPathComponent(name).path) }
        #expect(file("w.bin") == file("weights.safetensors"))
        #expect(piped.stderr.contains("to standard output"))
        let onnxBytes = try #require(file("model.onnx"))
        #expect(onnxBytes.range(of: Data("mnistlab".utf8)) != nil)
        let header = try #require(file("weights.safetensors"))
        #expect(header.dropFirst(8).starts(with: Data("{\"__metadata__\":".utf8)))
    }

    @Test func exportReadsTheStoreWithoutWritingIt() throws {
        // Given a store the user may only read
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: sandbox.database)
        let before = fileBytes(sandbox.database)

        // When the model is exported in both formats
        let onnx = try sandbox.run(["export-model", "1", "-o", "model.onnx"])
        let safetensors = try sandbox.run(["export-model", "1", "-o", "model.safetensors"])

        // Then both are written and the store is unchanged
        #expect(onnx.status == 0 && safetensors.status == 0, "\(onnx.stderr)\(safetensors.stderr)")
        #expect(fileBytes(sandbox.database) == before)
    }

    @Test func standardOutputGetsTheFileBytes() throws {
        // Given the model written to a file
        #expect(try sandbox.run(["export-model", "1", "-o", "model.onnx"]).status == 0)

        // When it is written to standard output
        let process = sandbox.launch(["export-model", "1", "--format", "onnx", "-o", "-"])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let bytes = process.waitForExit(reading: [pipe]).output[0]

        // Then the bytes are the file's
        #expect(process.terminationStatus == 0)
        #expect(bytes == fileBytes(sandbox.directory.appendingPathComponent("model.onnx").path))
    }

    @Test func badInputIsOneLineWithExit64() throws {
        let cases: [([String], String)] = [
            (["-o", "model.bin"], "Error: Cannot tell the format of model.bin from its extension; name the file .onnx or .safetensors, or pass --format onnx or safetensors.\n"),
            (["-o", "-"], "Error: Writing to standard output needs --format onnx or safetensors.\n"),
            (["--format", "pb", "-o", "m.pb"], "Error: The value 'pb' is invalid for '--format <format>'. Please provide one of 'onnx' and 'safetensors'.\n"),
            (["--uint8-input", "-o", "w.safetensors"], "Error: --uint8-input changes the ONNX graph; safetensors holds only the weights.\n"),
            (["--epoch", "1", "-o", "m.onnx"], "Error: Run 1 kept no checkpoint at epoch 1; epochs with a checkpoint: 2, 3.\n"),
            (["--epoch", "9", "-o", "m.onnx"], "Error: Run 1 has no epoch 9; its last recorded epoch is 3.\n"),
            (["-o", ""], "Error: -o cannot be empty; give a file path, or - for standard output.\n"),
        ]
        for (arguments, message) in cases {
            // When export-model is given bad input
            let output = try sandbox.run(["export-model", "1"] + arguments)

            // Then it says so in one line, exits 64 and writes nothing
            #expect(output.status == 64, "\(arguments)")
            #expect(output.stderr == message, "\(arguments)")
            #expect(output.stdout.isEmpty)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.directory.path)
            .allSatisfy { !$0.hasPrefix("m.") && !$0.hasPrefix("w.") })
    }

    @Test func aFailedWriteIsAFailure() throws {
        // When the file cannot be written: no directory, a full disk, on standard output too
        let missing = try sandbox.run(["export-model", "1", "-o", "/nonexistent/model.onnx"])
        let full = try sandbox.run(["export-model", "1", "-o", "/dev/full", "--format", "onnx"])
        let fullOutput = try sandbox.run(
            ["-c", "\"$0\" export-model 1 --format safetensors -o - > /dev/full", mnistlabBinary],
            executable: "/bin/sh")

        // Then each is one line with the system's reason and exit 1
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: Cannot write /nonexistent/model.onnx: No such file or directory.\n")
        #expect(full.status == 1 && full.stderr == "Error: Cannot write /dev/full: No space left on device.\n")
        #expect(fullOutput.status == 1)
        #expect(fullOutput.stderr == "Error: Cannot write to standard output: No space left on device.\n")
    }

    @Test func predictTakesAnONNXFileItWroteAndRefusesOthers() throws {
        // Given the model as ONNX, uint8 ONNX and safetensors, and a digit
        for arguments in [["-o", "model.onnx"], ["--uint8-input", "-o", "raw.onnx"], ["-o", "w.safetensors"]] {
            #expect(try sandbox.run(["export-model", "1", "--epoch", "last"] + arguments).status == 0)
        }
        let digit = sandbox.directory.appendingPathComponent("digit.pgm").path
        try Data(Array("P5\n28 28\n255\n".utf8) + (0..<784).map { UInt8(($0 * 7) % 256) })
            .write(to: URL(fileURLWithPath: digit))
        let other = sandbox.directory.appendingPathComponent("other.onnx").path
        // An ONNX ModelProto: ir_version 7, producer_name "pytorch", an empty graph
        try Data([0x08, 0x07, 0x12, 0x07] + Array("pytorch".utf8) + [0x3A, 0x00])
            .write(to: URL(fileURLWithPath: other))

        // When predict classifies the digit with the run and with each file
        let run = try sandbox.run(["predict", "1", "--epoch", "last", digit, "--json"])
        let onnx = try sandbox.run(["predict", "model.onnx", digit, "--json"])
        let raw = try sandbox.run(["predict", "raw.onnx", digit, "--json"])
        let table = try sandbox.run(["predict", "model.onnx", digit])

        // Then the ONNX files give the run's answer exactly, without reading the store
        #expect(run.status == 0 && onnx.status == 0 && raw.status == 0, "\(onnx.stderr)")
        #expect(onnx.stdout == run.stdout && raw.stdout == run.stdout)
        #expect(table.lines.first == "model.onnx: run 1 (run-1), epoch 3")
        let elsewhere = try sandbox.run(
            ["predict", "model.onnx", digit], environment: ["MNISTLAB_DB": "/nonexistent/x.sqlite"])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")

        // and other files are refused in one line
        let advice = "give a run id or an ONNX file written by `mnistlab export-model`.\n"
        let refusals: [([String], Int32, String)] = [
            (["other.onnx"], 1, "Error: Cannot predict with other.onnx: it is an ONNX model made by 'pytorch', not by mnistlab; " + advice),
            (["w.safetensors"], 1, "Error: Cannot predict with w.safetensors: it is not an ONNX model; " + advice),
            (["nosuch.onnx"], 64, "Error: nosuch.onnx is neither a run nor a file; give a run's id, uid or uid prefix (`mnistlab runs` lists them) or an ONNX file written by `mnistlab export-model`.\n"),
            (["model.onnx", "--epoch", "2"], 64, "Error: --epoch picks a run's checkpoint; model.onnx holds one checkpoint already.\n"),
        ]
        for (arguments, status, message) in refusals {
            let output = try sandbox.run(["predict"] + arguments + [digit])
            #expect(output.status == status, "\(arguments)")
            #expect(output.stderr == message, "\(arguments)")
        }
    }
}
