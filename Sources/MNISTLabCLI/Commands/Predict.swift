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

        @Argument(
            help: "The run (its id, uid or a unique uid prefix), or an ONNX file written by export-model.")
        var model: String

        @Argument(help: "PNG or PGM files to classify ('-' for standard input).")
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
            if files.filter({ $0 == "-" }).count > 1 {
                throw ValidationError("Give '-' (standard input) at most once.")
            }
            guard onnxFile != nil else {
                guard (try? RunReference.parse(model)) != nil else {
                    throw ValidationError(
                        "\(model) is neither a run nor a file; give a run's id, uid or uid prefix "
                            + "(`mnistlab runs` lists them) or an ONNX file written by `mnistlab export-model`.")
                }
                return
            }
            if epoch != nil {
                throw ValidationError(
                    "--epoch picks a run's checkpoint; \(model) holds one checkpoint already.")
            }
        }

        /// The ONNX file `model` names, or nil when it names a run: digits are an id even where
        /// a file has that name.
        var onnxFile: String? {
            Int64(model) == nil && FileManager.default.fileExists(atPath: model) ? model : nil
        }

        /// Each file gets its result or its own error line (on standard error), in the order
        /// given; the command exits 1 if any failed, once every file has had its turn.
        func run() throws {
            let prepared: [Result<[UInt8], MNISTLabError>] = files.map { file in
                Result { try Self.prepared(file) }.mapError {
                    $0 as? MNISTLabError ?? MNISTLabError("\($0)")
                }
            }
            let images = prepared.compactMap { try? $0.get() }
            let predictions: [DigitPrediction]
            let heading: String
            if let onnxFile {
                let onnx = try Self.onnxModel(onnxFile)
                predictions = try DigitPrediction.classify(
                    images, architecture: onnx.architecture, weights: onnx.weights,
                    epoch: onnx.epoch ?? 0, runID: onnx.runID ?? 0)
                let name = onnx.metadata[MetadataKey.runName]?.controlCharactersEscaped ?? "?"
                heading =
                    "\(onnxFile): run \(onnx.runID.map(String.init) ?? "?") (\(name)), epoch \(onnx.epoch ?? 0)"
            } else {
                let store = try database.openForReading()
                let runID = try RunReference.parse(model).id(in: store)
                let loaded = try store.checkpoint(runID: runID, at: epoch ?? .best)
                predictions = try loaded.classify(images)
                heading = "run \(runID) (\(loaded.run.name.controlCharactersEscaped)), epoch \(loaded.epoch)"
            }
            var next = predictions.startIndex
            let results = prepared.map { image in
                image.map { _ in
                    defer { next += 1 }
                    return predictions[next]
                }
            }
            let failures = results.compactMap { result -> MNISTLabError? in
                if case .failure(let error) = result { return error }
                return nil
            }
            for error in failures { printStandardError("Error: \(error)") }
            if output.json {
                try printJSON(zip(files, results).map { PredictionJSON(file: $0, result: $1) })
            } else if failures.count < files.count {
                print(heading)
                var table = Table(
                    ["file", "label", "probability"] + (0...9).map(String.init),
                    numeric: Set(1...12))
                for (file, result) in zip(files, results) {
                    guard case .success(let p) = result else { continue }
                    table.append(
                        [Self.shown(file), "\(p.label)", Format.percent(p.probabilities[p.label])]
                            + p.probabilities.map { Format.fixed(Double($0), digits: 3) })
                }
                print(table.render())
            }
            if !failures.isEmpty { throw ExitCode.failure }
        }

        /// How a file is named in the table and in errors: '-' is standard input.
        static func shown(_ file: String) -> String { file == "-" ? "standard input" : file }

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

        /// The file's bytes ('-': standard input's), or one line naming the file and the reason.
        static func contents(of file: String) throws -> [UInt8] {
            if file == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
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
                throw MNISTLabError("Cannot classify \(shown(file)): \(error).")
            }
        }
    }
}

/// One file's prediction as `predict --json` prints it, or the error that file met.
struct PredictionJSON: Encodable {
    var file: String
    var label: Int?
    var probabilities: [Double]?
    var epoch: Int?
    var error: String?

    init(file: String, result: Result<DigitPrediction, MNISTLabError>) {
        self.file = file
        switch result {
        case .success(let prediction):
            label = prediction.label
            probabilities = prediction.probabilities
            epoch = prediction.epoch
        case .failure(let failure):
            error = failure.description
        }
    }
}
