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
            throw TrainingError.checkpointShape(
                runID: run.id, epoch: epoch, parameterCount: checkpoint.weights.count,
                hidden: run.hidden)
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
    /// The checkpoint of run `runID` at `point`, the epoch resolved and its checkpoint read in
    /// one snapshot (a trainer pruning meanwhile can't come between). Fails in one line for
    /// an unknown run, a run without epochs, or an epoch whose checkpoint was not kept
    /// (listing those that were).
    public func checkpoint(runID: Int64, at point: ResumePoint) throws -> LoadedCheckpoint {
        guard let picked = try checkpoint(runID: runID, picking: { point.epoch(in: $0) }) else {
            throw TrainingError.unknownRun(runID)
        }
        let summary = picked.summary
        guard let last = summary.lastEpoch, let epoch = picked.epoch else {
            throw TrainingError.noRecordedEpoch(runID: runID)
        }
        if epoch > last || epoch < (summary.run.parentEpoch ?? 0) + 1 {
            throw TrainingError.noSuchEpoch(runID: runID, epoch: epoch, lastEpoch: last)
        }
        guard let checkpoint = picked.checkpoint else {
            throw TrainingError.noCheckpoint(runID: runID, epoch: epoch, kept: picked.kept)
        }
        return LoadedCheckpoint(summary: summary, checkpoint: checkpoint)
    }
}

extension ResumePoint {
    /// The epoch this point names in the run `summary` describes; nil when it recorded none.
    func epoch(in summary: RunSummary) -> Int? {
        guard let last = summary.lastEpoch, let best = summary.bestEpoch else { return nil }
        switch self {
        case .best: return best
        case .last: return last
        case .epoch(let n): return n
        }
    }
}

/// Refuses a dataset other than the one `run` trained on (by checksum).
public func requireDataset(_ mnist: MNIST, of run: Run) throws {
    guard mnist.checksum == run.datasetChecksum else {
        throw TrainingError.otherDataset(
            directory: mnist.directory, checksum: mnist.checksum, runID: run.id,
            expected: run.datasetChecksum)
    }
}

extension LoadedCheckpoint {
    /// Loss, accuracy and confusion matrix of these weights on `images`.
    public func test(on images: LabeledImages, batchSize: Int = 500) throws -> TestResult {
        let architecture = try architecture()
        guard architecture.inputs == images.images.columnCount else {
            throw TrainingError.imageWidth(
                runID: run.id, inputs: architecture.inputs, columns: images.images.columnCount)
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
