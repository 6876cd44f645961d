/// The parameters as a safetensors file (huggingface.co/docs/safetensors): an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte
/// range, then the data. The data is the checkpoint's weights blob unchanged, so the tensors
/// are `layers.0.weight` (fan_in, fan_out), `layers.0.bias`, … in that order.
import Foundation

extension ExportableModel {
    /// The model as safetensors bytes. The same model gives the same bytes.
    public func safetensors() -> [UInt8] {
        var tensors: [String: SafetensorsHeader.Tensor] = [:]
        for l in 0..<architecture.layerCount {
            let layout = architecture.layout(ofLayer: l)
            tensors[Self.tensorName(layer: l, "weight")] = .init(
                shape: [layout.fanIn, layout.fanOut],
                range: layout.weightOffset * 4, layout.biasOffset * 4)
            tensors[Self.tensorName(layer: l, "bias")] = .init(
                shape: [layout.fanOut],
                range: layout.biasOffset * 4, (layout.biasOffset + layout.fanOut) * 4)
        }
        var described = metadata
        described[MetadataKey.inputScaling] = Self.inputScaling(uint8Input: false)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a dictionary of strings and integers cannot fail.
        var header = Array(
            (try? encoder.encode(SafetensorsHeader(metadata: described, tensors: tensors)))
                ?? Data())
        // Spaces pad the header so the data starts 8-byte aligned, as the format recommends.
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) }
        bytes += header
        bytes += littleEndianBytes(weights)
        return bytes
    }
}

/// `{"__metadata__": {…}, "layers.0.weight": {"dtype": "F32", "shape": […],
/// "data_offsets": [begin, end]}, …}`, offsets in bytes from the start of the data.
private struct SafetensorsHeader: Encodable {
    struct Tensor: Encodable {
        var dtype = "F32"
        var shape: [Int]
        var data_offsets: [Int]

        init(shape: [Int], range begin: Int, _ end: Int) {
            self.shape = shape
            data_offsets = [begin, end]
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var metadata: [String: String]
    var tensors: [String: Tensor]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(metadata, forKey: Key(stringValue: "__metadata__"))
        for (name, tensor) in tensors {
            try container.encode(tensor, forKey: Key(stringValue: name))
        }
    }
}
