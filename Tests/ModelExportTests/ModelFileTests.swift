import Foundation
import Numerics
import Testing

@testable import ModelExport

/// ONNX and safetensors files of small networks, read back (ONNX) and taken apart
/// (safetensors). ONNX Runtime and the safetensors library check them in CLITests'
/// ModelExportRuntimeTests.
@Suite(.timeLimit(.minutes(10)))
struct ModelFileTests {
    static func model(_ activation: Activation, hidden: [Int] = [5, 3], loss: Loss = .crossEntropy)
        -> ExportableModel
    {
        let architecture = Architecture(
            inputs: 784, hidden: hidden, outputs: 10, activation: activation, loss: loss)
        return ExportableModel(
            architecture: architecture, weights: architecture.initialParameters(seed: 7),
            metadata: [
                MetadataKey.runID: "3", MetadataKey.epoch: "12", MetadataKey.runName: "a \"run\"",
                MetadataKey.loss: loss.rawValue, MetadataKey.activation: activation.rawValue,
            ])
    }

    @Test(arguments: Activation.allCases, [false, true])
    func onnxReadsBackAsTheSameNetwork(activation: Activation, uint8Input: Bool) throws {
        // Given a network with two hidden layers
        let model = Self.model(activation, loss: .mse)

        // When it is written as ONNX and read back
        let read = try ExportableModel(onnx: model.onnx(uint8Input: uint8Input))

        // Then it is the same network, weights and metadata
        #expect(read == model)
        #expect(read.epoch == 12 && read.runID == 3)
    }

    @Test func networkWithoutHiddenLayersReadsBack() throws {
        let model = Self.model(.relu, hidden: [])
        #expect(try ExportableModel(onnx: model.onnx()) == model)
    }

    @Test func onnxIsDeterministicAndHoldsTheCheckpointBytes() {
        let model = Self.model(.sigmoid)
        let bytes = model.onnx()
        #expect(bytes == model.onnx())
        // The first layer's weights appear as one run of their little-endian bytes.
        let first = littleEndianBytes(model.weights[0..<784 * 5])
        #expect(bytes.firstRange(of: first) != nil)
    }

    @Test func otherFilesAreRefusedSayingWhy() throws {
        let model = Self.model(.sigmoid)
        // An ONNX model by another producer
        var other = ProtobufWriter()
        other.int(1, 7)
        other.string(2, "pytorch")
        other.message(7) { $0.string(2, "torch_jit") }
        #expect(throws: ModelFileError.otherProducer("pytorch")) {
            try ExportableModel(onnx: other.bytes)
        }
        // Not protobuf at all
        #expect(throws: ModelFileError.notONNX) {
            try ExportableModel(onnx: Array("\u{89}PNG\r\n\u{1A}\n".utf8))
        }
        #expect(throws: ModelFileError.notONNX) { try ExportableModel(onnx: []) }
        // Ours, edited: Sigmoid swapped for Tanh (same length)
        var edited = model.onnx()
        let sigmoid = Array("Sigmoid".utf8)
        let range = try #require(edited.firstRange(of: sigmoid))
        edited.replaceSubrange(range, with: Array("Tanh\0\0\0".utf8))
        #expect(throws: ModelFileError.self) { try ExportableModel(onnx: edited) }
        // Ours in name, with a tensor of 2^96 values in 4 bytes
        var huge = ProtobufWriter()
        huge.int(1, 7)
        huge.string(2, "mnistlab")
        huge.message(7) { graph in
            graph.message(5) { tensor in
                for _ in 0..<4 { tensor.int(1, 1 << 24) }
                tensor.int(2, 1)
                tensor.string(8, "layers.0.weight")
                tensor.bytes(9, [0, 0, 0, 0])
            }
        }
        #expect(throws: ModelFileError.self) { try ExportableModel(onnx: huge.bytes) }
        // Ours, cut anywhere: refused, never a crash
        let bytes = model.onnx()
        for cut in stride(from: 0, to: bytes.count, by: 997) {
            #expect(throws: ModelFileError.self) { try ExportableModel(onnx: Array(bytes[..<cut])) }
        }
    }

    @Test func aCorruptedFileIsReadOrRefusedNeverACrash() {
        // Given a small model's ONNX bytes with one byte changed, at every 7th position
        let bytes = Self.model(.leakyRelu, hidden: [2]).onnx()
        for i in stride(from: 0, to: bytes.count, by: 7) {
            var corrupted = bytes
            corrupted[i] ^= 0xA5
            // When it is read, then it is a model or a ModelFileError (typed throws), and no
            // trap ends the test process
            _ = try? ExportableModel(onnx: corrupted)
        }
    }

    @Test func safetensorsHeaderNamesEachTensorOverTheCheckpointBytes() throws {
        // Given a model written as safetensors
        let model = Self.model(.leakyRelu)
        let bytes = model.safetensors()

        // Then an 8-byte length, a JSON header padded to 8 bytes, and the checkpoint's bytes
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect((8 + length) % 8 == 0)
        #expect(Array(bytes[(8 + length)...]) == littleEndianBytes(model.weights))
        let header = try #require(
            try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + length])) as? [String: Any])
        let metadata = try #require(header["__metadata__"] as? [String: String])
        #expect(metadata["run_name"] == "a \"run\"" && metadata["epoch"] == "12")
        let expected: [(String, [Int], [Int])] = [
            ("layers.0.weight", [784, 5], [0, 15680]), ("layers.0.bias", [5], [15680, 15700]),
            ("layers.1.weight", [5, 3], [15700, 15760]), ("layers.1.bias", [3], [15760, 15772]),
            ("layers.2.weight", [3, 10], [15772, 15892]), ("layers.2.bias", [10], [15892, 15932]),
        ]
        #expect(header.count == expected.count + 1)
        for (name, shape, offsets) in expected {
            let tensor = try #require(header[name] as? [String: Any], "\(name)")
            #expect(tensor["dtype"] as? String == "F32")
            #expect(tensor["shape"] as? [Int] == shape, "\(name)")
            #expect(tensor["data_offsets"] as? [Int] == offsets, "\(name)")
        }
    }

    @Test func formatFollowsTheExtension() {
        #expect(ModelFormat(path: "model.onnx") == .onnx)
        #expect(ModelFormat(path: "dir/W.SafeTensors") == .safetensors)
        #expect(ModelFormat(path: "model.bin") == nil)
        #expect(ModelFormat(path: "my.onnx/model") == nil)
        #expect(ModelFormat(path: "-") == nil)
    }
}
