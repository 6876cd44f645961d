/// A checkpoint as a self-contained model file: the network, its parameters and the facts
/// that trace it back to its run. `ONNX.swift` and `Safetensors.swift` write it; the ONNX
/// reader gives it back from a file this module wrote.
import Numerics
import Store
import Training

public struct ExportableModel: Sendable, Equatable {
    public var architecture: Architecture
    /// Every parameter in the checkpoint's layout (see `Architecture`): layer order
    /// W1, b1, W2, b2, …, each W (fan_in, fan_out) row-major.
    public var weights: [Float]
    /// String keys and values, as ONNX's `metadata_props` and safetensors' `__metadata__`
    /// hold them; `MetadataKey` names them.
    public var metadata: [String: String]

    public init(architecture: Architecture, weights: [Float], metadata: [String: String]) {
        precondition(weights.count == architecture.parameterCount, "parameter count mismatch")
        self.architecture = architecture
        self.weights = weights
        self.metadata = metadata
    }

    /// The checkpoint's epoch, as its metadata records it.
    public var epoch: Int? { metadata[MetadataKey.epoch].flatMap { Int($0) } }
    /// The id of the run it came from, as its metadata records it.
    public var runID: Int64? { metadata[MetadataKey.runID].flatMap { Int64($0) } }

    /// The name of layer `l`'s weight and bias tensors in both formats: `layers.0.weight`, …
    static func tensorName(layer l: Int, _ part: String) -> String { "layers.\(l).\(part)" }

    /// What the input is, for doc strings and metadata.
    static func inputScaling(uint8Input: Bool) -> String {
        uint8Input
            ? "uint8 pixels 0-255 (the graph divides them by 255, as training did)"
            : "float32 pixels divided by 255 (0 to 1), as training read MNIST"
    }
}

/// The metadata keys, written by both formats.
public enum MetadataKey {
    public static let runID = "run_id"
    public static let runUID = "run_uid"
    public static let runName = "run_name"
    public static let epoch = "epoch"
    public static let valLoss = "val_loss"
    public static let valAccuracy = "val_accuracy"
    public static let datasetChecksum = "dataset_checksum"
    public static let version = "mnistlab_version"
    public static let hidden = "hidden"
    public static let activation = "activation"
    public static let loss = "loss"
    public static let inputScaling = "input_scaling"
    public static let layout = "layout"
}

/// The file formats a model is written in.
public enum ModelFormat: String, CaseIterable, Sendable {
    case onnx
    case safetensors

    /// The format a file name's extension names (`.onnx`, `.safetensors`, any case), else nil.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        self.init(rawValue: path[path.index(after: dot)...].lowercased())
    }

    /// The extension of a file in this format, without the dot.
    public var fileExtension: String { rawValue }
}

extension ExportableModel {
    /// The model file in `format`; `uint8Input` (ONNX only) makes the graph take raw pixels.
    public func encoded(as format: ModelFormat, uint8Input: Bool = false) -> [UInt8] {
        switch format {
        case .onnx: onnx(uint8Input: uint8Input)
        case .safetensors: safetensors()
        }
    }
}

extension Store {
    /// Run `runID`'s checkpoint at `point` with its run's and epoch's facts. Fails as
    /// `checkpoint(runID:at:)` does.
    public func exportableModel(runID: Int64, at point: ResumePoint) throws -> ExportableModel {
        let loaded = try checkpoint(runID: runID, at: point)
        let run = loaded.run
        let metrics = try epoch(runID: runID, epoch: loaded.epoch)
        var metadata = [
            MetadataKey.runID: "\(run.id)",
            MetadataKey.runName: run.name,
            MetadataKey.epoch: "\(loaded.epoch)",
            MetadataKey.datasetChecksum: run.datasetChecksum,
            MetadataKey.version: MNISTLabVersion.current,
            MetadataKey.hidden: run.hidden,
            MetadataKey.activation: run.activation,
            MetadataKey.loss: run.loss,
            MetadataKey.layout:
                "layers.L.weight is (fan_in, fan_out) row-major: y = x @ weight + bias; "
                + "hidden layers apply the activation, the last softmax",
        ]
        metadata[MetadataKey.runUID] = run.uid
        metadata[MetadataKey.valLoss] = metrics.map { "\($0.valLoss)" }
        metadata[MetadataKey.valAccuracy] = metrics.map { "\($0.valAccuracy)" }
        return ExportableModel(
            architecture: try loaded.architecture(), weights: loaded.checkpoint.weights,
            metadata: metadata)
    }
}
