import Datasets
import Numerics
import Store

/// A run's weights at one epoch, as `evaluate` and `export-weights` load them.
public struct LoadedCheckpoint: Sendable {
    public var summary: RunSummary
    public var checkpoint: CheckpointRecord
    public var run: Run { summary.run }
    public var epoch: Int { checkpoint.epoch }

    /// The network's shape, with the input width worked out from the parameter count (the
    /// hidden widths and the 10 outputs are recorded; the image size is not).
    public func architecture() throws -> Architecture {
        let h = try Hyperparameters(run)
        let outputs = MNIST.classCount
        var rest = 0
        let widths = h.hidden + [outputs]
        for k in 1..<widths.count { rest += (widths[k - 1] + 1) * widths[k] }
        let firstLayer = checkpoint.weights.count - rest
        guard firstLayer > 0, firstLayer % widths[0] == 0, firstLayer / widths[0] > 1 else {
            throw SessionError(
                "Run \(run.id)'s checkpoint at epoch \(epoch) has \(checkpoint.weights.count) parameters, which fits no network with hidden layers \(run.hidden)."
            )
        }
        return h.architecture(inputs: firstLayer / widths[0] - 1, outputs: outputs)
    }
}

/// What a checkpoint scored on a labelled set.
public struct TestResult: Sendable, Equatable {
    public var loss: Double
    /// Fraction 0...1.
    public var accuracy: Double
    public var count: Int
    /// `confusion[trueLabel][predictedLabel]`, 10×10.
    public var confusion: [[Int]]
}

extension Store {
    /// The checkpoint of run `runID` at `point`. Fails in one line for an unknown run, a run
    /// without epochs, or an epoch whose checkpoint was not kept (listing those that were).
    public func checkpoint(runID: Int64, at point: ResumePoint) throws -> LoadedCheckpoint {
        guard let summary = try summary(runID: runID) else { throw SessionError.unknownRun(runID) }
        guard let last = summary.lastEpoch, let best = summary.bestEpoch else {
            throw SessionError(
                "Run \(runID) has no recorded epoch yet, so no checkpoint; start a new run with `mnistlab train`."
            )
        }
        let epoch: Int
        switch point {
        case .best: epoch = best
        case .last: epoch = last
        case .epoch(let n): epoch = n
        }
        guard let checkpoint = try checkpoint(runID: runID, epoch: epoch) else {
            let kept = try checkpointEpochs(runID: runID).map(String.init)
            throw SessionError(
                "Run \(runID) has no checkpoint at epoch \(epoch); epochs with a checkpoint: \(kept.joined(separator: ", "))."
            )
        }
        return LoadedCheckpoint(summary: summary, checkpoint: checkpoint)
    }
}

/// Refuses a dataset other than the one `run` trained on (by checksum).
public func requireDataset(_ mnist: MNIST, of run: Run) throws {
    guard mnist.checksum == run.datasetChecksum else {
        throw SessionError(
            "The dataset in \(mnist.directory) (\(mnist.checksum)) is not the one run \(run.id) trained on (\(run.datasetChecksum)); pass --data with the original files."
        )
    }
}

extension LoadedCheckpoint {
    /// Loss, accuracy and confusion matrix of these weights on `images`.
    public func test(on images: LabeledImages, batchSize: Int = 500) throws -> TestResult {
        let architecture = try architecture()
        guard architecture.inputs == images.images.columnCount else {
            throw SessionError(
                "Run \(run.id) takes \(architecture.inputs)-pixel images, but the test images have \(images.images.columnCount)."
            )
        }
        let network = Network(
            architecture: architecture, parameters: checkpoint.weights,
            maxBatchSize: min(batchSize, max(images.count, 1)))
        let stats = network.evaluate(images.images, labels: images.labels)
        let predicted = network.predict(images.images)
        var confusion = [[Int]](
            repeating: [Int](repeating: 0, count: MNIST.classCount), count: MNIST.classCount)
        for (label, guess) in zip(images.labels, predicted) {
            confusion[Int(label)][Int(guess)] += 1
        }
        return TestResult(
            loss: stats.meanLoss, accuracy: stats.accuracy, count: stats.count,
            confusion: confusion)
    }
}
