import ArgumentParser
import Datasets
import Foundation
import Store
import Training

extension MNISTLab {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a run's checkpoint on the test set and record the result.",
            discussion: """
                Loads the weights kept after an epoch (default: the best), classifies the \
                dataset's t10k test images and prints the test loss, accuracy, per-class \
                accuracy and the confusion matrix (rows: true label, columns: predicted). The \
                result is stored in the evaluations and confusion tables (see docs/database.md); \
                evaluating the same epoch again replaces it.

                Examples:
                  mnistlab evaluate 1
                  mnistlab evaluate 1 --epoch last
                  mnistlab evaluate 2 --epoch 250 --json
                """)

        @Argument(
            help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
        var reference: RunReference

        @Option(
            name: .long, parsing: .unconditional,
            help: "Checkpoint to evaluate: best (the default), last or an epoch number.",
            completion: .list(["best", "last"]), transform: ResumePoint.parse)
        var epoch = ResumePoint.best

        @Option(name: .long, help: "Directory of the run's dataset, if it has moved.")
        var data: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws { try Check.notEmpty(data, "--data") }

        func run() throws {
            // The reads (run, checkpoint) need no write access; only storing the result does.
            // Closed before the result is stored: a read-only connection still open in this
            // process would keep the writer's close from folding the WAL back.
            let reader = try database.openForReading()
            let runID = try reference.id(in: reader)
            let loaded = try reader.checkpoint(runID: runID, at: epoch)
            try reader.close()
            let mnist = try MNIST.load(directory: data ?? loaded.run.datasetPath)
            try requireDataset(mnist, of: loaded.run)
            let result = try loaded.test(on: mnist.test)
            let evaluation = EvaluationRecord(
                runID: runID, epoch: loaded.epoch, datasetChecksum: mnist.checksum,
                testSize: result.count, testLoss: result.loss, testAccuracy: result.accuracy,
                confusion: result.confusion)
            let stored = try record(evaluation)
            if output.json { return try printJSON(EvaluationJSON(stored)) }

            print(
                "run \(runID) (\(loaded.run.name.controlCharactersEscaped)), epoch \(loaded.epoch), on \(stored.testSize) test images from \(mnist.directory) (\(mnist.checksum))"
            )
            print(
                "test loss \(Format.loss(stored.testLoss))  accuracy \(Format.percent(stored.testAccuracy))"
            )
            print("\nconfusion matrix: rows = true label, columns = predicted label")
            let labels = stored.confusion.indices.map(String.init)
            var table = Table(
                ["true"] + labels + ["images", "accuracy"], numeric: Set(0...(labels.count + 2)))
            for (label, row) in stored.confusion.enumerated() {
                table.append(
                    ["\(label)"] + row.map(String.init)
                        + ["\(row.reduce(0, +))", Format.percent(stored.classAccuracy[label])])
            }
            print(table.render())
        }
    }
}

extension MNISTLab.Evaluate {
    /// Stores the evaluation and returns it as stored. A database the user may only read
    /// still gets the result printed, with a note that it was not stored.
    private func record(_ evaluation: EvaluationRecord) throws -> EvaluationRecord {
        let store: Store
        do {
            store = try database.openExisting()
        } catch let error as StoreError
            where error.kind == .notWritable || error.kind == .directoryNotWritable
        {
            printStandardError("note: not stored: \(error.description)")
            return evaluation
        }
        // Closed explicitly so the WAL is folded back before the process exits.
        defer { try? store.close() }
        try store.recordEvaluation(evaluation)
        let stored = try store.evaluations(runID: evaluation.runID).first {
            $0.epoch == evaluation.epoch
        }
        return stored ?? evaluation
    }
}

/// An evaluation as `evaluate --json` prints it, snake_case as in SQL.
struct EvaluationJSON: Encodable {
    var run_id: Int64
    var epoch: Int
    var dataset_checksum: String
    var test_size: Int
    var test_loss: Double
    var test_accuracy: Double
    /// By true label; null for a label with no test images.
    var class_accuracy: [Double?]
    /// Rows = true label, columns = predicted label.
    var confusion: [[Int]]
    var evaluated_at: String?

    init(_ e: EvaluationRecord) {
        run_id = e.runID
        epoch = e.epoch
        dataset_checksum = e.datasetChecksum
        test_size = e.testSize
        test_loss = e.testLoss
        test_accuracy = e.testAccuracy
        class_accuracy = e.classAccuracy
        confusion = e.confusion
        evaluated_at = e.evaluatedAt
    }
}
