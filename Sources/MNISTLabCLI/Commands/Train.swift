import ArgumentParser
import Foundation
import Training

extension MNISTLab {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the MLP on MNIST and record the run.",
            discussion: """
                Prints one line per epoch and the run id. Each epoch's metrics and checkpoint \
                are committed together, so Ctrl-C (or a crash) leaves a run you can resume.

                Examples:
                  mnistlab train --epochs 20
                  mnistlab train --epochs 1000 --name seed-reproduction
                  mnistlab train --hidden 256,128 --activation relu --momentum 0.9
                  mnistlab train --epochs 1000 --patience 50 --weight-decay 1e-4
                  mnistlab train --lr-schedule step:100:0.5 --min-learning-rate 0.001
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var training: TrainingOptions
        @OptionGroup var controls: ControlOptions
        @OptionGroup var model: ModelOptions
        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: ArgumentHelp("Tag the run as part of this sweep (set by `mnistlab sweep`).", visibility: .hidden))
        var sweep: Int64?

        func run() throws {
            var h = Hyperparameters()
            h.hidden = model.hiddenWidths
            h.activation = model.activation
            h.loss = model.loss
            h.seed = model.seed
            h.learningRate = training.learningRate ?? h.learningRate
            h.batchSize = training.batchSize ?? h.batchSize
            h.momentum = training.momentum ?? h.momentum
            h.epochs = training.epochs ?? h.epochs
            try controls.apply(to: &h)
            let data = DataSource(
                directory: dataOptions.data ?? defaultDataDirectory,
                validationSize: dataOptions.valSize, trainLimit: dataOptions.trainLimit)

            let store = try database.openForWriting()
            // Closed explicitly so the WAL is folded back before the process exits.
            defer { try? store.close() }
            try reconcileAbandonedRuns(in: store)
            let result = try StopSignal.whileTrapped {
                try Session(store: store, events: .console).train(
                    h, data: data, name: training.name, keepEvery: training.keepEvery ?? 50,
                    sweepID: sweep)
            }
            try finish(result)
        }
    }
}

/// ./Data/mnist (the bundled copy, from the repository root) unless $MNISTLAB_DATA says else.
var defaultDataDirectory: String {
    ProcessInfo.processInfo.environment["MNISTLAB_DATA"] ?? "Data/mnist"
}

/// Prints how a session ended and exits as the outcome requires: 0, 130/143 after a signal,
/// 1 after divergence.
func finish(_ result: SessionResult) throws {
    switch result {
    case .completed(let id):
        print("run \(id) completed")
    case .interrupted(let id, let lastEpoch):
        let resumable = lastEpoch.map { "after epoch \($0); `mnistlab resume \(id)` continues it" }
        print(ProgressLine.clear + "run \(id) interrupted \(resumable ?? "before its first epoch")")
        throw ExitCode(128 + StopSignal.received)
    case .failed(let id, let reason):
        throw MNISTLabError(
            "Run \(id) failed: \(reason). Its earlier checkpoints are kept; resume it with a smaller --learning-rate.")
    }
}
