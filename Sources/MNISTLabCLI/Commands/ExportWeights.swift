import ArgumentParser
import Foundation
import Numerics
import Store
import Training

extension MNISTLab {
    struct ExportWeights: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-weights",
            abstract: "Write a checkpoint's weights to a raw little-endian Float32 file.",
            discussion: """
                The file holds exactly the checkpoint's weights blob: every parameter as a \
                little-endian Float32, in the order W1, b1, W2, b2, …, each W (fan_in, fan_out) \
                row-major. The command prints each tensor's shape and offset and a numpy \
                snippet that loads them.

                Examples:
                  mnistlab export-weights 1 -o model.bin
                  mnistlab export-weights 1 --epoch 250 -o epoch250.bin
                  mnistlab export-weights 2 --epoch last -o model.bin --json
                  mnistlab export-weights 1 -o - > model.bin
                """)

        @OptionGroup var checkpoint: ExportedCheckpoint

        @Option(
            name: .shortAndLong,
            help: """
                File to write ('-' for standard output; the layout then goes to standard error).
                """)
        var output: String

        @Flag(name: .long, help: "Print the layout as JSON for scripts instead of a table.")
        var json = false

        @OptionGroup var database: DatabaseOptions

        func validate() throws { try Check.notEmpty(output, "-o") }

        func run() throws {
            let store = try database.openForReading()
            let runID = try checkpoint.run.id(in: store)
            let loaded = try store.checkpoint(runID: runID, at: checkpoint.epoch)
            let layout = WeightLayout(try loaded.architecture())
            let bytes = loaded.checkpoint.weights.map(\.bitPattern.littleEndian).withUnsafeBytes {
                [UInt8]($0)
            }
            try write(bytes, to: output)
            // With the weights on standard output, the layout goes to standard error.
            let toStandardOutput = output == "-"
            let say: (String) -> Void =
                toStandardOutput ? { printStandardError($0) } : { print($0) }
            if json {
                return say(
                    try jsonText(
                        WeightsJSON(
                            file: output, run_id: runID, epoch: loaded.epoch,
                            dtype: "<f4",
                            parameter_count: layout.count, bytes: bytes.count,
                            tensors: layout.tensors)))
            }
            let destination = toStandardOutput ? "standard output" : output
            say(
                "Wrote run \(runID)'s weights after epoch \(loaded.epoch) to \(destination): \(layout.count) little-endian Float32 values (\(bytes.count) bytes).\n"
            )
            var table = Table(
                ["tensor", "shape", "offset", "count", "byte offset"], numeric: [2, 3, 4])
            for t in layout.tensors {
                table.append([
                    t.name, t.shape.map(String.init).joined(separator: " × "), "\(t.offset)",
                    "\(t.count)", "\(t.offset * 4)",
                ])
            }
            say(table.render(styled: !toStandardOutput && Terminal.isInteractive))
            say(
                "\nLoad it with numpy:\n"
                    + layout.numpy(
                        file: toStandardOutput ? "model.bin" : output,
                        activation: loaded.run.activation))
        }
    }
}

/// Names, shapes and offsets (in Float32 values) of the tensors in a flat parameter array.
struct WeightLayout {
    struct Tensor: Encodable {
        var name: String
        var shape: [Int]
        var offset: Int
        var count: Int
    }

    var tensors: [Tensor] = []
    var count: Int

    init(_ architecture: Architecture) {
        count = architecture.parameterCount
        for l in 0..<architecture.layerCount {
            let layer = architecture.layout(ofLayer: l)
            tensors.append(
                Tensor(
                    name: "W\(l + 1)", shape: [layer.fanIn, layer.fanOut],
                    offset: layer.weightOffset, count: layer.weightCount))
            tensors.append(
                Tensor(
                    name: "b\(l + 1)", shape: [layer.fanOut], offset: layer.biasOffset,
                    count: layer.fanOut))
        }
    }

    /// A Python snippet that slices the file into the tensors and runs the forward pass.
    func numpy(file: String, activation: String) -> String {
        var lines = [
            "  import numpy as np", "  p = np.fromfile(\(pythonString(file)), dtype=\"<f4\")",
        ]
        for t in tensors {
            let slice = "p[\(t.offset):\(t.offset + t.count)]"
            lines.append(
                "  \(t.name) = \(t.shape.count == 2 ? "\(slice).reshape(\(t.shape[0]), \(t.shape[1]))" : slice)"
            )
        }
        let f: String
        switch activation {
        case "relu": f = "np.maximum(z, 0)"
        case "leaky-relu": f = "np.where(z > 0, z, 0.01 * z)"
        default: f = "1 / (1 + np.exp(-z))"
        }
        lines.append(
            "  # x: (n, \(tensors.first?.shape.first ?? 784)) pixels / 255; hidden layers use \(activation), the output softmax"
        )
        lines.append("  act = lambda z: \(f)")
        let layers = tensors.count / 2
        var h = "x"
        for l in 1..<max(layers, 1) {
            lines.append("  h\(l) = act(\(h) @ W\(l) + b\(l))")
            h = "h\(l)"
        }
        lines.append("  predicted = np.argmax(\(h) @ W\(layers) + b\(layers), axis=1)")
        return lines.joined(separator: "\n")
    }
}

private func pythonString(_ text: String) -> String {
    "\""
        + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
            of: "\"", with: "\\\"") + "\""
}

private struct WeightsJSON: Encodable {
    var file: String
    var run_id: Int64
    var epoch: Int
    var dtype: String
    var parameter_count: Int
    var bytes: Int
    var tensors: [WeightLayout.Tensor]
}
