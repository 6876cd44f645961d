import ArgumentParser
import Store
import Training

extension MNISTLab {
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare runs side by side: the settings that differ, best and last metrics.",
            discussion: """
                Examples:
                  mnistlab compare 1 2
                  mnistlab compare 1 2 3 --json
                """)

        @Argument(
            help: ArgumentHelp("Two or more runs, by id, uid or uid prefix.", valueName: "run"),
            transform: RunReference.parse)
        var runs: [RunReference]

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if runs.count < 2 { throw ValidationError("Compare needs at least two run ids.") }
        }

        func run() throws {
            let store = try database.openForReading()
            let summaries = try store.ids(runs).map { id in
                guard let s = try store.summary(runID: id) else { throw TrainingError.unknownRun(id) }
                return s
            }
            if output.json { return try printJSON(summaries) }
            // Runs as rows, so that 20 runs read as 20 lines: the settings that differ between
            // them (never the uid, which always does), then their metrics.
            let differing = runSettings.filter { _, value in Set(summaries.map { value($0.run) }).count > 1 }
            let metrics = summaries.contains { $0.stoppedEarlyAt != nil } ? runMetrics + [stoppedEarly] : runMetrics
            let firstMetric = 1 + differing.count
            var table = Table(
                ["run"] + differing.map(\.0) + metrics.map(\.0),
                numeric: Set([0] + Array(firstMetric..<(firstMetric + runMetrics.count))))
            for summary in summaries {
                table.append(
                    ["\(summary.run.id)"] + differing.map { $0.1(summary.run) }
                        + metrics.map { $0.1(summary) })
            }
            print(table.render())
        }
    }
}

// The rows of `compare`, each a name and how a run shows it. (Declared with their type,
// outside `run()`: as one expression there they took seconds to type-check.)

/// The settings rows of `compare`, shown where runs differ: the network and data, then the
/// schedule, weight decay and early stopping.
private var runSettings: [(String, (Run) -> String)] {
    [
        ("name", { $0.name }), ("status", { $0.status.rawValue }),
        ("parent", { r in r.parentRunID.map { "\($0)@\(r.parentEpoch ?? 0)" } ?? "-" }),
        ("hidden", { $0.hidden }), ("activation", { $0.activation }), ("loss", { $0.loss }),
        ("learning rate", { Format.number($0.learningRate) }),
        ("batch size", { "\($0.batchSize)" }), ("momentum", { Format.number($0.momentum) }),
        ("planned epochs", { "\($0.epochs)" }), ("seed", { Format.seed($0.seed) }),
        ("train size", { "\($0.trainSize)" }), ("val size", { "\($0.valSize)" }),
        ("dataset", { $0.datasetChecksum }), ("code version", { $0.codeVersion }),
        ("kernels", { $0.kernelPath }),
        ("lr schedule", { $0.lrSchedule }),
        ("min learning rate", { Format.number($0.minLearningRate) }),
        ("weight decay", { Format.number($0.weightDecay) }),
        ("patience", { $0.patience.map(String.init) ?? "-" }),
        ("min delta", { Format.number($0.minDelta) }),
    ]
}

/// The metrics rows of `compare`, shown for every run (all of them numbers).
private var runMetrics: [(String, (RunSummary) -> String)] {
    [
        ("epochs done", { "\($0.lastEpoch ?? 0)" }),
        ("best epoch", { $0.bestEpoch.map(String.init) ?? "-" }),
        ("best val loss", { Format.loss($0.bestValLoss) }),
        ("best val acc", { Format.percent($0.bestValAccuracy) }),
        ("last train loss", { Format.loss($0.lastTrainLoss) }),
        ("last val loss", { Format.loss($0.lastValLoss) }),
        ("last val acc", { Format.percent($0.lastValAccuracy) }),
        ("seconds", { Format.fixed($0.totalSeconds, digits: 1) }),
    ]
}

/// The metrics row of `compare` shown when one of the runs stopped early.
private var stoppedEarly: (String, (RunSummary) -> String) {
    ("stopped early", { $0.stoppedEarlyAt.map { "at epoch \($0)" } ?? "-" })
}
