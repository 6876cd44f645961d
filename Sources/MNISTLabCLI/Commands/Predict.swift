import ArgumentParser
import Foundation
import Prediction
import Store
import Training

extension MNISTLab {
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify images of handwritten digits with a run's checkpoint.",
            discussion: """
                Reads PNG or PGM (P5, P2) files. A 28×28 image is classified as it is, as \
                MNIST's own digits are; an image of another size is first prepared as MNIST's \
                were: the digit's bounding box fitted into 20×20, its centre of mass placed at \
                the centre of 28×28. Dark ink on a light background (told by the image's \
                border) is inverted to MNIST's white on black.

                Examples:
                  mnistlab predict 1 digit.png
                  mnistlab predict 1 --epoch last scans/*.pgm
                  mnistlab predict 2 --epoch 40 seven.png --json
                """)

        @Argument(help: "Id of the run.")
        var runID: Int64

        @Argument(help: "PNG or PGM files to classify.")
        var files: [String]

        @Option(
            name: .long, parsing: .unconditional,
            help: "Checkpoint to use: best (the default), last or an epoch number.",
            completion: .list(["best", "last"]), transform: ResumePoint.parse)
        var epoch = ResumePoint.best

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("Give at least one image file.") }
        }

        func run() throws {
            let images = try files.map(Self.prepared)
            let loaded = try database.openForReading().checkpoint(runID: runID, at: epoch)
            let predictions = try loaded.classify(images)
            if output.json {
                return try printJSON(
                    zip(files, predictions).map { PredictionJSON(file: $0, prediction: $1) })
            }
            print("run \(runID) (\(loaded.run.name)), epoch \(loaded.epoch)")
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

        /// The file read, decoded and prepared, or one line naming the file and the reason.
        static func prepared(_ file: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: file) else {
                let reason =
                    FileManager.default.fileExists(atPath: file)
                    ? "permission denied or not a regular file" : "no such file"
                throw MNISTLabError("Cannot read \(file): \(reason).")
            }
            do {
                return try DigitPreparation.prepare(GrayImage.decode([UInt8](data)))
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
