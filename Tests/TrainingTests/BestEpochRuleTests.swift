import Foundation
import Numerics
import Store
import Testing

@testable import Training

/// The best-epoch rule is one rule: training's (`EarlyStopping.bestEpoch`, which the plateau
/// schedule's `BestSoFar` also walks) picks the epoch the store's `run_summary.best_epoch`
/// names, ties and all, on histories full of repeated losses.
@Suite(.timeLimit(.minutes(10)))
struct BestEpochRuleTests {
    @Test func trainingAndTheStoreNameTheSameBestEpoch() throws {
        // Given a store and 30 runs whose validation losses repeat often (ties in every run)
        try withTemporaryStore { store in
            var random = SplitMix64(seed: 42)
            for _ in 0..<30 {
                let epochs = 1 + Int(random.next(below: 12))
                let history = (1...epochs).map {
                    RecordedEpoch(epoch: $0, valLoss: [0.5, 0.25, 0.75, 0.125][Int(random.next(below: 4))])
                }
                let (run, lease) = try store.createRun(
                    NewRun(
                        learningRate: 0.1, batchSize: 10, epochs: epochs, hidden: "4",
                        activation: "sigmoid", loss: "cross-entropy", seed: 1, trainSize: 10, valSize: 10,
                        datasetPath: "-", datasetChecksum: "-", codeVersion: "-", kernelPath: "-",
                        keepEvery: 1),
                    leaseSeconds: 30)
                for recorded in history {
                    try store.recordEpoch(
                        EpochRecord(
                            runID: run.id, epoch: recorded.epoch, trainLoss: 0, trainAccuracy: 0,
                            valLoss: recorded.valLoss, valAccuracy: 0, seconds: 0),
                        checkpoint: nil, keepEvery: 1, lease: lease)
                }

                // When training and the store each name the best epoch
                let stored = try store.summary(runID: run.id)?.bestEpoch

                // Then they agree
                #expect(EarlyStopping(patience: 1).bestEpoch(in: history) == stored, "\(history)")
            }
        }
    }
}
