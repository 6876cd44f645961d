import ArgumentParser
import Foundation
import Store
import Training

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

extension MNISTLab {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a run's per-epoch metrics with its hyperparameters as CSV or JSON.",
            discussion: """
                CSV has one row per epoch: the epoch's metrics (epoch_learning_rate is the \
                rate in effect that epoch), then the run's settings as extra columns, so the \
                file loads as one flat table (pandas, R, a spreadsheet). \
                JSON is an object with "run" (the run_summary row) and "epochs".

                Examples:
                  mnistlab export 1 > run1.csv
                  mnistlab export 1 --format json -o run1.json
                  mnistlab export 3 | python3 -c 'import pandas, sys; print(pandas.read_csv(sys.stdin).tail())'
                """)

        enum Format: String, CaseIterable, ExpressibleByArgument {
            case csv, json
        }

        @Argument(
            help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
        var reference: RunReference

        @Option(name: .long, help: "csv or json.")
        var format = Format.csv

        @Option(name: .shortAndLong, help: "File to write ('-' or none: standard output).")
        var output: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws { try Check.notEmpty(output, "-o") }

        func run() throws {
            let store = try database.openForReading()
            let runID = try reference.id(in: store)
            guard let summary = try store.summary(runID: runID) else {
                throw TrainingError.unknownRun(runID)
            }
            let epochs = try store.epochs(runID: runID)
            let text: String
            switch format {
            case .csv: text = csv(summary.run, epochs)
            case .json: text = try jsonText(ExportJSON(run: summary, epochs: epochs)) + "\n"
            }
            try write(text, to: output)
            if let output {
                print("Wrote \(epochs.count) epochs of run \(runID) to \(output).")
            }
        }

        /// The columns of `epochs`, then the run's settings repeated on every row.
        func csv(_ run: Run, _ epochs: [EpochRecord]) -> String {
            let settings: [(String, String)] = [
                ("name", run.name), ("status", run.status.rawValue),
                ("parent_run_id", run.parentRunID.map(String.init) ?? ""),
                ("parent_epoch", run.parentEpoch.map(String.init) ?? ""),
                ("sweep_id", run.sweepID.map(String.init) ?? ""),
                ("learning_rate", "\(run.learningRate)"), ("batch_size", "\(run.batchSize)"),
                ("momentum", "\(run.momentum)"), ("hidden", run.hidden),
                ("activation", run.activation), ("loss", run.loss),
                ("seed", MNISTLabCLI.Format.seed(run.seed)),
                ("planned_epochs", "\(run.epochs)"), ("train_size", "\(run.trainSize)"),
                ("val_size", "\(run.valSize)"), ("dataset_checksum", run.datasetChecksum),
                ("code_version", run.codeVersion), ("kernel_path", run.kernelPath),
                ("lr_schedule", run.lrSchedule), ("min_learning_rate", "\(run.minLearningRate)"),
                ("weight_decay", "\(run.weightDecay)"),
                ("patience", run.patience.map(String.init) ?? ""),
                ("min_delta", "\(run.minDelta)"),
            ]
            let header =
                [
                    "run_id", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                    "seconds", "recorded_at", "epoch_learning_rate",
                ]
                + settings.map(\.0)
            var lines = [header.joined(separator: ",")]
            for e in epochs {
                let metrics = [
                    "\(e.runID)", "\(e.epoch)", "\(e.trainLoss)", "\(e.trainAccuracy)",
                    "\(e.valLoss)",
                    "\(e.valAccuracy)", "\(e.seconds)", e.recordedAt ?? "",
                    e.learningRate.map { "\($0)" } ?? "",
                ]
                lines.append((metrics + settings.map(\.1)).map(csvField).joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

private struct ExportJSON: Encodable {
    var run: RunSummary
    var epochs: [EpochRecord]
}

/// Writes `text` to the file at `path`, or to standard output when `path` is nil or "-".
func write(_ text: String, to path: String?) throws {
    try write(Array(text.utf8), to: path)
}

/// Writes `bytes` to the file at `path` (created or replaced), or to standard output when
/// `path` is nil or "-" (through `StandardOutput`, which ends the process when that fails). A
/// failure is one line with the system's reason: "Cannot write /root: Is a directory."
func write(_ bytes: [UInt8], to path: String?) throws {
    guard let path, path != "-" else { return StandardOutput.write(bytes) }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw MNISTLabError("Cannot write \(path): \(systemError(errno)).") }
    let written = writeAll(fd, bytes)
    let failure = errno
    guard close(fd) == 0, written else {
        throw MNISTLabError("Cannot write \(path): \(systemError(written ? errno : failure)).")
    }
}

/// The system's words for an errno value: "Permission denied".
func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }
