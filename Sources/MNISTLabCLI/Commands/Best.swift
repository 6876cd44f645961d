import ArgumentParser
import Store
import Training

extension MNISTLab {
    struct Best: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The best epoch of each run, or the best run overall.",
            discussion: """
                Best means the lowest validation loss (earliest epoch on ties), or the highest \
                validation accuracy with --by val_accuracy.

                Examples:
                  mnistlab best 1
                  mnistlab best 1 2 3 --by val_accuracy
                  mnistlab best            # the best run in the database
                """)

        enum Metric: String, CaseIterable, ExpressibleByArgument {
            case valLoss = "val_loss"
            case valAccuracy = "val_accuracy"
        }

        @Argument(
            help: ArgumentHelp("Runs, by id, uid or uid prefix (default: the best run overall).", valueName: "run"),
            transform: RunReference.parse)
        var runs: [RunReference] = []

        @Option(name: .long, help: "What best means: val_loss or val_accuracy.")
        var by = Metric.valLoss

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openForReading()
            let ids = runs.isEmpty ? try bestRunOverall(store) : try store.ids(runs)
            let rows = try ids.map { id -> BestEpoch in
                guard let summary = try store.summary(runID: id) else {
                    throw TrainingError.unknownRun(id)
                }
                guard let best = try bestEpoch(summary, store) else {
                    throw MNISTLabError("Run \(id) has no recorded epochs yet.")
                }
                return BestEpoch(
                    run_id: id, name: summary.run.name, by: by.rawValue, epoch: best.epoch,
                    epochs_done: summary.epochsDone, last_epoch: summary.lastEpoch ?? best.epoch,
                    train_loss: best.trainLoss,
                    train_accuracy: best.trainAccuracy, val_loss: best.valLoss,
                    val_accuracy: best.valAccuracy)
            }
            if output.json { return try printJSON(rows) }
            var table = Table(
                ["run", "name", "best epoch", "of", "train loss", "train acc", "val loss", "val acc"],
                numeric: [0, 2, 3, 4, 5, 6, 7])
            for r in rows {
                table.append([
                    "\(r.run_id)", r.name, "\(r.epoch)", "\(r.last_epoch)", Format.loss(r.train_loss),
                    Format.percent(r.train_accuracy), Format.loss(r.val_loss), Format.percent(r.val_accuracy),
                ])
            }
            print(table.render())
        }

        /// By val_loss, the store's best epoch (`run_summary.best_epoch`, the rule retention
        /// and reports use too); by val_accuracy, the highest, the earliest epoch on ties.
        func bestEpoch(_ summary: RunSummary, _ store: Store) throws -> EpochRecord? {
            switch by {
            case .valLoss:
                try summary.bestEpoch.flatMap { try store.epoch(runID: summary.run.id, epoch: $0) }
            case .valAccuracy:
                try store.epochWithHighestValAccuracy(runID: summary.run.id)
            }
        }

        func bestRunOverall(_ store: Store) throws -> [Int64] {
            let order: SummaryOrder = by == .valLoss ? .bestValLoss : .maxValAccuracy
            let best = try store.summaries(limit: 1, order: order).first { $0.lastEpoch != nil }
            guard let best else { throw MNISTLabError("No run has recorded an epoch yet; `mnistlab train` starts one.") }
            return [best.run.id]
        }
    }
}

private struct BestEpoch: Encodable {
    var run_id: Int64
    var name: String
    var by: String
    var epoch: Int
    var epochs_done: Int
    /// The run's last epoch: a fork's epochs count on from its parent's.
    var last_epoch: Int
    var train_loss: Double
    var train_accuracy: Double
    var val_loss: Double
    var val_accuracy: Double
}
