import ArgumentParser
import Foundation
import ModelExport
import Prediction
import Store
import Training

extension MNISTLab {
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify images of handwritten digits with a run's checkpoint or an ONNX file.",
            discussion: """
                Reads PNG or PGM (P5, P2) files. A 28×28 image is classified as it is, as \
                MNIST's own digits are; an image of another size is first prepared as MNIST's \
                were: the digit's bounding box fitted into 20×20, its centre of mass placed at \
                the centre of 28×28. Dark ink on a light background (told by the image's \
                border) is inverted to MNIST's white on black. In place of a run, an ONNX \
                file written by export-model classifies them, without the database.

                Examples:
                  mnistlab predict 1 digit.png
                  mnistlab predict model.onnx digit.png
                  mnistlab predict 1 --epoch last scans/*.pgm
                  mnistlab predict 2 --epoch 40 seven.png --json
                """)

        @Argument(help: "Id of the run, or an ONNX file written by export-model.")
        var model: String

        @Argument(help: "PNG or PGM files to classify.")
        var files: [String]

        @Option(
            name: .long, parsing: .unconditional,
            help: "Checkpoint of the run to use: best (the default), last or an epoch number.",
            completion: .list(["best", "last"]), transform: ResumePoint.parse)
        var epoch: ResumePoint?

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("Give at least one image file.") }
            guard Int64(model) == nil else { return }
            guard FileManager.default.fileExists(atPath: model) else {
                throw ValidationError(
                    "\(model) is neither a run id nor a file; give a run id (`mnistlab runs` "
                        + "lists them) or an ONNX file written by `mnistlab export-model`.")
            }
            if epoch != nil {
                throw ValidationError(
                    "--epoch picks a run's checkpoint; \(model) holds one checkpoint already.")
            }
        }

        func run() throws {
            let images = try files.map(Self.prepared)
            let predictions: [DigitPrediction]
            let heading: String
            if let runID = Int64(model) {
                let loaded = try database.openForReading().checkpoint(
                    runID: runID, at: epoch ?? .best)
                predictions = try loaded.classify(images)
                heading = "run \(runID) (\(loaded.run.name)), epoch \(loaded.epoch)"
            } else {
                let onnx = try Self.onnxModel(model)
                predictions = try DigitPrediction.classify(
                    images, architecture: onnx.architecture, weights: onnx.weights,
                    epoch: onnx.epoch ?? 0, runID: onnx.runID ?? 0)
                heading =
                    "\(model): run \(onnx.runID.map(String.init) ?? "?") "
                    + "(\(onnx.metadata[MetadataKey.runName] ?? "?")), epoch \(onnx.epoch ?? 0)"
            }
            if output.json {
                return try printJSON(
                    zip(files, predictions).map { PredictionJSON(file: $0, prediction: $1) })
            }
            print(heading)
            var table = Table(
                ["file", "label", "probability"] + (0...9).map(String.init),
                numeric: Set(1...12))
            for (file, p) in zip(files, predictions) {
                table.append(
                    [file, "\(p.label)", Format.percent(p.probabilities[p.label])]
                        + p.probabilities.map { Format.fixed(Double($0), digits: 3) })
            }
            print(table.render())
        }

        /// The network in an ONNX file that export-model wrote, or one line saying why not.
        static func onnxModel(_ file: String) throws -> ExportableModel {
            do {
                return try ExportableModel(onnx: try contents(of: file))
            } catch let error as ModelFileError {
                throw MNISTLabError(
                    "Cannot predict with \(file): \(error); give a run id or an ONNX file "
                        + "written by `mnistlab export-model`.")
            }
        }

        /// The file's bytes, or one line naming the file and the reason.
        static func contents(of file: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: file) else {
                let reason =
                    FileManager.default.fileExists(atPath: file)
                    ? "permission denied or not a regular file" : "no such file"
                throw MNISTLabError("Cannot read \(file): \(reason).")
            }
            return [UInt8](data)
        }

        /// The file read, decoded and prepared, or one line naming the file and the reason.
        static func prepared(_ file: String) throws -> [UInt8] {
            let data = try contents(of: file)
            do {
                return try DigitPreparation.prepare(GrayImage.decode(data))
            } catch {
                throw MNISTLabError("Cannot classify \(file): \(error).")
            }
        }
    }
}

/// One file's prediction as `predict --json` prints it.
struct PredictionJSON: Encodable {
    var file: String
    var label: Int
    var probabilities: [Double]
    var epoch: Int

    init(file: String, prediction: DigitPrediction) {
        self.file = file
        label = prediction.label
        probabilities = prediction.probabilities
        epoch = prediction.epoch
    }
}
