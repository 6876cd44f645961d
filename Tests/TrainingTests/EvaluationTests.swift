import Foundation
import Testing

@testable import Datasets
@testable import Numerics
@testable import Store
@testable import Training

/// Testing a checkpoint (Evaluation.swift) and the per-batch progress of `Trainer.run`.
@Suite(.timeLimit(.minutes(10)))
struct EvaluationTests {
    /// A completed run row for these hyperparameters.
    func run(_ h: Hyperparameters) -> RunSummary {
        let row = Run(
            id: 1, name: "run-1", status: .completed, parentRunID: nil, parentEpoch: nil,
            createdAt: "", finishedAt: nil, learningRate: h.learningRate, batchSize: h.batchSize,
            epochs: h.epochs, hidden: h.hiddenDescription, activation: h.activation.rawValue,
            loss: h.loss.rawValue, momentum: h.momentum, seed: Int64(h.seed), trainSize: 1,
            valSize: 1, datasetPath: "", datasetChecksum: mnist.checksum, codeVersion: "",
            kernelPath: "", keepEvery: 1, failureReason: nil, pid: nil, host: nil,
            heartbeatAt: nil, sweepID: nil)
        return RunSummary(run: row, epochsDone: 1)
    }

    @Test func confusionMatrixAgreesWithEvaluate() throws {
        // Given weights trained for two epochs
        var h = hyperparameters(epochs: 2)
        h.hidden = [32, 16]
        let (train, validation) = subset(train: 1_000)
        let trainer = Trainer(hyperparameters: h, train: train, validation: validation)
        _ = trainer.run(epochs: 1...2) { _ in }
        let loaded = LoadedCheckpoint(
            summary: run(h),
            checkpoint: CheckpointRecord(runID: 1, epoch: 2, weights: trainer.network.parameters))

        // When they are tested on 1,000 test images, in batches that don't divide it
        let test = mnist.test.slice(0..<1_000)
        let result = try loaded.test(on: test, batchSize: 300)

        // Then the matrix counts every image once, by label, and its diagonal is the accuracy
        let stats = trainer.network.evaluate(test.images, labels: test.labels)
        #expect(try loaded.architecture().layerSizes == [784, 32, 16, 10])
        #expect(result.count == 1_000 && result.loss == stats.meanLoss)
        #expect(result.confusion.joined().reduce(0, +) == 1_000)
        for label in 0..<10 {
            #expect(result.confusion[label].reduce(0, +) == test.labels.filter { $0 == label }.count)
        }
        let correct = (0..<10).map { result.confusion[$0][$0] }.reduce(0, +)
        #expect(correct == stats.correct && result.accuracy == stats.accuracy)
    }

    @Test func checkpointOfTheWrongSizeIsRefused() {
        let loaded = LoadedCheckpoint(
            summary: run(hyperparameters(epochs: 1)),
            checkpoint: CheckpointRecord(runID: 1, epoch: 1, weights: [Float](repeating: 0, count: 1_234)))
        #expect(throws: TrainingError.checkpointShape(runID: 1, epoch: 1, parameterCount: 1_234, hidden: "100")) {
            try loaded.architecture()
        }
    }

    @Test func progressIsReportedWithinLongEpochsOnly() {
        // Given epochs of 100 batches, on a clock that advances 0.03 s per reading (one per
        // batch), so that each epoch lasts about 3 s whatever the machine's speed
        var h = hyperparameters(epochs: 2)
        h.batchSize = 10
        let (train, validation) = subset(train: 1_000)
        let trainer = Trainer(hyperparameters: h, train: train, validation: validation)
        var now = 0.0
        let clock = { () -> Double in
            now += 0.03
            return now
        }

        // When they train
        var reports: [EpochProgress] = []
        _ = trainer.run(epochs: 1...2, progress: { reports.append($0) }, clock: clock) { _ in }

        // Then progress came a few times per epoch, counting up to 100 batches
        #expect(!reports.isEmpty)
        #expect(reports.allSatisfy { $0.batchCount == 100 && $0.batchesDone >= 1 && $0.batchesDone <= 100 })
        #expect(reports.allSatisfy { $0.meanLoss.isFinite && $0.seconds >= Trainer.progressInterval })
        for epoch in 1...2 {
            let done = reports.filter { $0.epoch == epoch }.map(\.batchesDone)
            #expect(done == done.sorted() && done.count < 100)
        }
    }
}
