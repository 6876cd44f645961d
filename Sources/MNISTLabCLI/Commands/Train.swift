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
            let (h, source) = try settings()
            // Found and split before the store is opened: a run without data leaves no
            // database behind.
            let data = try source.prepare()
            try Session.requireBatchFits(h.batchSize, data.train)
            try runSession(database, open: database.openForWriting) { session in
                try session.train(
                    h, data: data, name: training.name,
                    keepEvery: training.keepEvery ?? Defaults.keepEvery, sweepID: sweep)
            }
        }

        /// What the options ask to train, and on which data.
        func settings() throws -> (Hyperparameters, DataSource) {
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
            let data = DataSource(
                directory: try DataLocation.resolve(dataOptions.data),
                validationSize: dataOptions.valSize, trainLimit: dataOptions.trainLimit)
            return (h, data)
        }
    }
}
