import ArgumentParser
import Numerics
import Training

extension Activation: ExpressibleByArgument {}
extension Loss: ExpressibleByArgument {}

/// Options that `train` and `resume` share. Left out, `train` uses the seed's values and
/// `resume` inherits the run's.
struct TrainingOptions: ParsableArguments {
    @Option(name: .long, help: "Last epoch to train to, counted from 1 (train default: 1000).")
    var epochs: Int?

    @Option(name: .long, help: "Learning rate for SGD (train default: 0.1).")
    var learningRate: Double?

    @Option(name: .long, help: "Examples per mini-batch (train default: 200).")
    var batchSize: Int?

    @Option(name: .long, help: "SGD momentum in [0, 1) (train default: 0).")
    var momentum: Double?

    @Option(
        name: .long,
        help: "Keep a checkpoint every N epochs, besides the best and the last (train default: 50).")
    var keepEvery: Int?

    @Option(name: .long, help: "A name for the run (default: run-<id>).")
    var name: String?

    func validate() throws {
        if let epochs, epochs < 1 {
            throw ValidationError("Epochs must be at least 1; got \(epochs).")
        }
        // Training runs in Float32: 1e-300 would round to 0 and 1e39 to infinity.
        if let learningRate, !(Float(learningRate) > 0 && Float(learningRate).isFinite) {
            throw ValidationError("Learning rate must be a positive number; got \(learningRate).")
        }
        if let batchSize, batchSize < 1 {
            throw ValidationError("Batch size must be at least 1; got \(batchSize).")
        }
        // 0.99999999 is below 1 as a Double but rounds to 1 (no decay) as a Float.
        if let momentum, !(momentum >= 0 && Float(momentum) < 1) {
            throw ValidationError("Momentum must be in [0, 1); got \(momentum).")
        }
        if let keepEvery, keepEvery < 1 {
            throw ValidationError("--keep-every must be at least 1; got \(keepEvery).")
        }
        if let name, name.isEmpty {
            throw ValidationError("A run name cannot be empty.")
        }
    }
}

/// The shape of the network and the seed: fixed for a run and its forks.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Hidden layer widths, e.g. 100 or 256,128.")
    var hidden = "100"

    @Option(name: .long, help: "Activation of the hidden layers.")
    var activation = Activation.sigmoid

    @Option(name: .long, help: "Loss on the softmax output.")
    var loss = Loss.crossEntropy

    @Option(name: .long, help: "Seed for the initial weights and the per-epoch shuffles.")
    var seed: UInt64 = 1

    var hiddenWidths: [Int] { Hyperparameters.parseHidden(hidden) ?? [] }

    /// A checkpoint is one SQLite blob of Float32s, and SQLite's blobs stop at 1 GB.
    static let maxParameters = 250_000_000

    func validate() throws {
        guard let widths = Hyperparameters.parseHidden(hidden), widths.allSatisfy({ $0 <= 65_536 })
        else {
            throw ValidationError(
                "Hidden widths must be positive integers separated by commas, e.g. 100 or 256,128; got '\(hidden)'.")
        }
        // Checked for MNIST's 28×28 images, before allocating anything.
        var h = Hyperparameters()
        h.hidden = widths
        let parameters = h.architecture(inputs: 784, outputs: 10).parameterCount
        if parameters > Self.maxParameters {
            throw ValidationError(
                "Hidden widths \(hidden) need \(parameters) parameters for 28×28 images; a checkpoint holds at most \(Self.maxParameters).")
        }
    }
}

/// Where the data is and how it is split.
struct DataOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Directory with the four MNIST IDX files, .gz or raw (default: $MNISTLAB_DATA, else ./Data/mnist).")
    var data: String?

    @Option(name: .long, help: "Training images held out, from the end, for validation.")
    var valSize = 10_000

    @Option(name: .long, help: "Train on the first N training images only (quick runs).")
    var trainLimit: Int?

    func validate() throws {
        if valSize < 1 { throw ValidationError("--val-size must be at least 1; got \(valSize).") }
        if let trainLimit, trainLimit < 1 {
            throw ValidationError("--train-limit must be at least 1; got \(trainLimit).")
        }
    }
}
