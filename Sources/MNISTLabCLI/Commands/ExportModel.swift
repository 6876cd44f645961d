import ArgumentParser
import ModelExport
import Training

extension ModelFormat: ExpressibleByArgument {}

extension MNISTLab {
    struct ExportModel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-model",
            abstract: "Write a checkpoint as an ONNX model or a safetensors file.",
            discussion: """
                ONNX: input 'image' float32 [N, 784], pixels / 255 as in training (with \
                --uint8-input, uint8 0-255 scaled in the graph); output 'probabilities' [N, 10]. \
                safetensors: tensors layers.0.weight (fan_in, fan_out), layers.0.bias, …, the \
                checkpoint's bytes unchanged. Both carry the run id and uid, the epoch, its \
                validation loss and accuracy, the dataset checksum and the mnistlab version. \
                The format follows from the file's extension, or --format.

                Examples:
                  mnistlab export-model 1 -o model.onnx
                  mnistlab export-model 1 --epoch 40 --uint8-input -o raw-pixels.onnx
                  mnistlab export-model 1 -o weights.safetensors
                  mnistlab export-model 1 --format onnx -o - > model.onnx
                """)

        @OptionGroup var checkpoint: ExportedCheckpoint

        @Option(name: .shortAndLong, help: "File to write ('-' for standard output).")
        var output: String

        @Option(help: "File format, if the file name's extension does not say it.")
        var format: ModelFormat?

        @Flag(help: "ONNX: take raw uint8 pixels (0-255) and scale them in the graph.")
        var uint8Input = false

        @OptionGroup var database: DatabaseOptions

        /// The format asked for, else the one the output's extension names.
        var resolvedFormat: ModelFormat? { format ?? ModelFormat(path: output) }

        func validate() throws {
            try Check.notEmpty(output, "-o")
            guard let format = resolvedFormat else {
                let formats = ModelFormat.allCases.map(\.rawValue).joined(separator: " or ")
                throw ValidationError(
                    output == "-"
                        ? "Writing to standard output needs --format \(formats)."
                        : "Cannot tell the format of \(output) from its extension; name the file "
                            + ".onnx or .safetensors, or pass --format \(formats).")
            }
            if uint8Input && format != .onnx {
                throw ValidationError(
                    "--uint8-input changes the ONNX graph; safetensors holds only the weights.")
            }
        }

        func run() throws {
            guard let format = resolvedFormat else { return }
            let model: ExportableModel
            let store = try database.openForReading()
            let runID = try checkpoint.run.id(in: store)
            do {
                model = try store.exportableModel(runID: runID, at: checkpoint.epoch)
            } catch let error as TrainingError {
                // An epoch the run never reached or kept no weights of is a wrong argument.
                switch error {
                case .noSuchEpoch, .noCheckpoint:
                    throw ValidationError(ErrorWording.training(error))
                default: throw error
                }
            }
            let bytes = model.encoded(as: format, uint8Input: uint8Input)
            try write(bytes, to: output)
            let destination = output == "-" ? "standard output" : output
            let line =
                "Wrote run \(runID)'s checkpoint of epoch \(model.epoch ?? 0) as "
                + "\(format.rawValue) to \(destination) (\(bytes.count) bytes)."
            output == "-" ? printStandardError(line) : print(line)
        }
    }
}
