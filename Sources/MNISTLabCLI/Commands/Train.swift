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
        @OptionGroup var training: TrainingOptions<TrainWording>
        @OptionGroup var controls: ControlOptions<TrainWording>
        @OptionGroup var model: ModelOptions
        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: ArgumentHelp("Tag the run as part of this sweep (set by `mnistlab sweep`).", visibility: .hidden))
        var sweep: Int64?

        func run() throws {
            var h = Defaults.hyperparameters
            h.hidden = model.hiddenWidths
            h.activation = model.activation
            h.loss = model.loss
            h.seed = model.seed
            h.learningRate = training.learningRate ?? h.learningRate
            h.batchSize = training.batchSize ?? h.batchSize
            h.momentum = training.momentum ?? h.momentum
            h.epochs = training.epochs ?? h.epochs
            try controls.apply(to: &h)
            // Found before the store is opened: a run without data leaves no database behind.
            let data = DataSource(
                directory: try DataLocation.resolve(dataOptions.data),
                validationSize: dataOptions.valSize, trainLimit: dataOptions.trainLimit)

            let store = try database.openForWriting()
            // Closed explicitly so the WAL is folded back before the process exits.
            defer { try? store.close() }
            try store.releaseAbandonedRuns()
            let result = try StopSignal.whileTrapped {
                try Session(
                    store: store, events: .console, leaseSeconds: database.leaseSeconds
                ).train(
                    h, data: data, name: training.name,
                    keepEvery: training.keepEvery ?? Defaults.keepEvery,
                    sweepID: sweep)
            }
            try finish(result)
        }
    }
}

/// Prints how a session ended and exits as the outcome requires: 0 (also when a resume had
/// nothing left to do), 128 + the signal after one, 1 after divergence or a lost lease.
func finish(_ result: SessionResult) throws {
    switch result {
    case .completed(let id):
        print("run \(id) completed")
    case .interrupted(let id, let lastEpoch):
        let resumable = lastEpoch.map { "after epoch \($0); `mnistlab resume \(id)` continues it" }
        print(ProgressLine.clear + "run \(id) interrupted \(resumable ?? "before its first epoch")")
        throw ExitCode(128 + StopSignal.received)
    case .failed(let id, let reason, let lastEpoch?):
        throw MNISTLabError(
            "Run \(id) failed: \(reason). Its checkpoints up to epoch \(lastEpoch) are kept; `mnistlab resume \(id) --from <epoch> --learning-rate <smaller>` forks it from one of them.")
    case .failed(let id, let reason, nil):
        throw MNISTLabError(
            "Run \(id) failed: \(reason). No epoch was recorded; `mnistlab resume \(id) --learning-rate <smaller>` restarts it.")
    case .leaseLost(let id, let lastEpoch):
        throw MNISTLabError(
            "Run \(id) was taken over by another process after this one's lease expired\(lastEpoch.map { " (its epochs up to \($0) are recorded)" } ?? ""); this process wrote nothing more to it.")
    case .nothingToDo(let id, let lastEpoch, let through):
        print(
            "run \(id): nothing to do; its epochs through \(max(lastEpoch, through)) are recorded with these settings. Pass --epochs N (a total above \(lastEpoch)) to train further, or change a setting (--learning-rate, --batch-size, --momentum, --keep-every, --name) to fork.")
    }
}
