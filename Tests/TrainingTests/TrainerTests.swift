import Foundation
import Testing

@testable import Datasets
@testable import Numerics
@testable import Training

/// The bundled MNIST, loaded once for the suite.
let mnist: MNIST = {
    let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    // The tests cannot run without the bundled data, so a load failure is a test failure.
    return try! MNIST.load(directory: root.appendingPathComponent("Data/mnist").path)
}()

/// A small real subset: the first `train` images train, 1,000 held-out images validate.
func subset(train: Int) -> (LabeledImages, LabeledImages) {
    let split = try! mnist.split(validationSize: 10_000, trainLimit: train)
    return (split.train, split.validation.slice(0..<1_000))
}

func hyperparameters(epochs: Int, seed: UInt64 = 7, momentum: Double = 0) -> Hyperparameters {
    var h = Hyperparameters()
    h.epochs = epochs
    h.seed = seed
    h.momentum = momentum
    h.batchSize = 50
    return h
}

@Suite(.timeLimit(.minutes(10)))
struct TrainerTests {
    @Test func lossFallsOnARealSubset() throws {
        // Given 2,000 real training images
        let (train, validation) = subset(train: 2_000)
        let trainer = Trainer(
            hyperparameters: hyperparameters(epochs: 4), train: train, validation: validation)

        // When it trains four epochs
        var metrics: [EpochMetrics] = []
        let outcome = trainer.run(epochs: 1...4) { metrics.append($0) }

        // Then every epoch is reported and the losses fall while accuracy rises
        #expect(outcome == .completed)
        #expect(metrics.map(\.epoch) == [1, 2, 3, 4])
        #expect(metrics[3].trainLoss < metrics[0].trainLoss)
        #expect(metrics[3].valLoss < metrics[0].valLoss)
        #expect(metrics[3].valAccuracy > 0.6)  // chance is 0.1
    }

    @Test func tenSeedEpochsReachNinetyPercentValidationAccuracy() throws {
        // Given the seed's configuration on the full standard split (50,000 / 10,000)
        let (train, validation) = try mnist.split(validationSize: 10_000)
        var h = Hyperparameters()
        h.epochs = 10
        let trainer = Trainer(hyperparameters: h, train: train, validation: validation)

        // When it trains ten epochs
        var last: EpochMetrics?
        #expect(trainer.run(epochs: 1...10) { last = $0 } == .completed)

        // Then validation accuracy is at least 90%
        let accuracy = try #require(last?.valAccuracy)
        #expect(accuracy >= 0.90, "validation accuracy after 10 epochs: \(accuracy)")
    }

    @Test func sameSeedGivesBitIdenticalWeights() throws {
        let (train, validation) = subset(train: 500)
        let runs = (0..<2).map { _ in
            let trainer = Trainer(
                hyperparameters: hyperparameters(epochs: 2, momentum: 0.9), train: train,
                validation: validation)
            _ = trainer.run(epochs: 1...2) { _ in }
            return trainer.network.parameters
        }
        #expect(differingBits(runs[0], runs[1]) == 0)
        let other = Trainer(
            hyperparameters: hyperparameters(epochs: 2, seed: 8), train: train,
            validation: validation)
        #expect(try #require(differingBits(other.network.parameters, runs[0])) > 0)
    }

    @Test(arguments: [0.0, 0.9])
    func resumingFromAnEpochContinuesExactly(momentum: Double) {
        // Given an uninterrupted four-epoch run
        let (train, validation) = subset(train: 500)
        let h = hyperparameters(epochs: 4, momentum: momentum)
        let straight = Trainer(hyperparameters: h, train: train, validation: validation)
        var straightMetrics: [EpochMetrics] = []
        _ = straight.run(epochs: 1...4) { straightMetrics.append($0) }

        // When another run stops after epoch 2 and a fresh trainer continues from its state
        let first = Trainer(hyperparameters: h, train: train, validation: validation)
        _ = first.run(epochs: 1...2) { _ in }
        let second = Trainer(
            hyperparameters: h, train: train, validation: validation,
            parameters: first.network.parameters, velocity: first.network.velocity)
        var resumedMetrics: [EpochMetrics] = []
        _ = second.run(epochs: 3...4) { resumedMetrics.append($0) }

        // Then weights, momentum and metrics match bit for bit
        #expect(differingBits(second.network.parameters, straight.network.parameters) == 0)
        #expect(differingBits(second.network.velocity, straight.network.velocity) == 0)
        let losses = { (m: EpochMetrics) in [m.trainLoss, m.valLoss] }
        #expect(
            differingBits(resumedMetrics.flatMap(losses), straightMetrics.suffix(2).flatMap(losses))
                == 0)
    }

    @Test func divergenceIsReportedWithTheEpoch() {
        let (train, validation) = subset(train: 500)
        var h = hyperparameters(epochs: 3)
        h.activation = .relu
        h.learningRate = 1e30
        let trainer = Trainer(hyperparameters: h, train: train, validation: validation)
        var recorded = 0
        let outcome = trainer.run(epochs: 1...3) { _ in recorded += 1 }
        guard case .diverged(let epoch, let reason) = outcome else {
            Issue.record("expected divergence, got \(outcome)")
            return
        }
        #expect(epoch == 1 && recorded == 0)
        #expect(reason.contains("at epoch 1"))
    }

    @Test func stopRequestAbandonsTheEpochUnrecorded() {
        let (train, validation) = subset(train: 500)
        let trainer = Trainer(
            hyperparameters: hyperparameters(epochs: 3), train: train, validation: validation)
        var recorded: [Int] = []
        let outcome = trainer.run(epochs: 1...3, shouldStop: { recorded.count == 1 }) {
            recorded.append($0.epoch)
        }
        #expect(outcome == .interrupted(epoch: 2))
        #expect(recorded == [1])
    }

    @Test func hiddenParsesWidthLists() {
        #expect(Hyperparameters.parseHidden("100") == [100])
        #expect(Hyperparameters.parseHidden("256, 128") == [256, 128])
        #expect(Hyperparameters.parseHidden("0") == nil)
        #expect(Hyperparameters.parseHidden("100,") == nil)
        #expect(Hyperparameters.parseHidden("abc") == nil)
    }
}
