import Foundation
import TestSupport
import Testing

@testable import Numerics
@testable import Store
@testable import Training

/// Early stopping, learning-rate schedules and weight decay through the epoch loop and the
/// session: resumed runs continue exactly, and patience stops where it says.
@Suite(.timeLimit(.minutes(10)))
struct TrainingControlsTests {
    static let schedules: [LearningRateSchedule.Kind] = [
        .constant, .step(every: 2, factor: 0.5), .cosine, .plateau(patience: 1, factor: 0.5),
    ]

    /// 200 images in batches of 20 at a high rate: validation loss moves up and down within
    /// six epochs, so the plateau schedule and the patience counter both act.
    func controlled(_ schedule: LearningRateSchedule.Kind, epochs: Int = 6) -> Hyperparameters {
        var h = hyperparameters(epochs: epochs, momentum: 0.9)
        h.learningRate = 1.5
        h.batchSize = 20
        h.lrSchedule = schedule
        h.minLearningRate = 0.05
        h.weightDecay = 1e-3
        h.patience = 2
        return h
    }

    @Test(arguments: schedules)
    func sixEpochsEqualThreeAndAResume(schedule: LearningRateSchedule.Kind) {
        // Given six uninterrupted epochs with a schedule, weight decay, momentum and patience
        let (train, validation) = subset(train: 200)
        let h = controlled(schedule)
        let straight = Trainer(hyperparameters: h, train: train, validation: validation)
        var straightMetrics: [EpochMetrics] = []
        let straightOutcome = straight.run(epochs: 1...6) { straightMetrics.append($0) }

        // When a run stops after epoch 3 and a fresh trainer continues from its state and its
        // recorded epochs
        let first = Trainer(hyperparameters: h, train: train, validation: validation)
        var firstMetrics: [EpochMetrics] = []
        _ = first.run(epochs: 1...3) { firstMetrics.append($0) }
        let second = Trainer(
            hyperparameters: h, train: train, validation: validation,
            parameters: first.network.parameters, velocity: first.network.velocity)
        var resumedMetrics: [EpochMetrics] = []
        let resumedOutcome = second.run(
            epochs: 4...6,
            history: firstMetrics.map { RecordedEpoch(epoch: $0.epoch, valLoss: $0.valLoss) }
        ) { resumedMetrics.append($0) }

        // Then rates, metrics, weights, momentum and the way it ended match bit for bit
        let all = firstMetrics + resumedMetrics
        #expect(all.map(\.learningRate) == straightMetrics.map(\.learningRate))
        #expect(all.map(\.valLoss) == straightMetrics.map(\.valLoss))
        #expect(all.map(\.trainLoss) == straightMetrics.map(\.trainLoss))
        #expect(second.network.parameters == straight.network.parameters)
        #expect(second.network.velocity == straight.network.velocity)
        #expect(resumedOutcome == straightOutcome)
        // And the schedule did move the rate after the resume point (the test can fail)
        if schedule != .constant {
            #expect(
                Set(straightMetrics.map(\.learningRate)).count > 1,
                "rates \(straightMetrics.map(\.learningRate))")
        }
    }

    @Test(arguments: [1, 3])
    func patienceStopsExactlyThatManyEpochsAfterTheBest(patience: Int) {
        // Given 500 images that the network overfits within a few epochs
        let (train, validation) = subset(train: 500)
        var h = hyperparameters(epochs: 40, momentum: 0.9)
        h.learningRate = 0.5
        h.patience = patience
        let trainer = Trainer(hyperparameters: h, train: train, validation: validation)

        // When it trains with early stopping
        var metrics: [EpochMetrics] = []
        let outcome = trainer.run(epochs: 1...40) { metrics.append($0) }

        // Then it stops `patience` epochs after the lowest validation loss (earliest on ties),
        // having recorded every epoch up to there and none after
        let best = metrics.min { $0.valLoss < $1.valLoss }?.epoch ?? 0
        #expect(outcome == .stoppedEarly(epoch: best + patience, bestEpoch: best))
        #expect(metrics.map(\.epoch) == Array(1...(best + patience)))
        #expect(best + patience < 40)
    }

    @Test func aRunThatAlreadyMetItsPatienceTrainsNothingMore() {
        let (train, validation) = subset(train: 200)
        var h = hyperparameters(epochs: 10)
        h.patience = 2
        let trainer = Trainer(hyperparameters: h, train: train, validation: validation)
        let history = [(1, 0.5), (2, 0.4), (3, 0.45), (4, 0.41)].map {
            RecordedEpoch(epoch: $0.0, valLoss: $0.1)
        }
        var recorded = 0
        let outcome = trainer.run(epochs: 5...10, history: history) { _ in recorded += 1 }
        #expect(outcome == .stoppedEarly(epoch: 4, bestEpoch: 2))
        #expect(recorded == 0)
    }

    // MARK: - Through the store

    /// The images `DataSource(directory: "Data/mnist", validationSize: 1_000, trainLimit: 200)`
    /// trains and validates on (the first 200 training images, the last 1,000), as a dataset
    /// of their own: a resume loads its run's dataset again, and each load of the full set cost
    /// a debug build about 3 CPU-s (a session test resumed twice).
    static let sessionData = mnistExcerpt("session", train: [0..<200, 59_000..<60_000], test: 100)

    static func prepared() throws -> PreparedData {
        try DataSource(directory: sessionData, validationSize: 1_000, trainLimit: 200).prepare()
    }

    final class Counter: @unchecked Sendable { var epochs = 0 }

    @Test(arguments: [LearningRateSchedule.Kind.plateau(patience: 1, factor: 0.5), .cosine])
    func aSessionResumedInPlaceContinuesExactlyAndAChangedDecayForks(
        schedule: LearningRateSchedule.Kind
    ) throws {
        // Given a database and the same settings trained straight and interrupted after 3
        try withTemporaryStore { store in
            let data = try Self.prepared()
            var h = controlled(schedule)
            h.patience = 4
            guard case .completed(let straight) = try Session(store: store).train(h, data: data)
            else { Issue.record("the straight run did not complete"); return }

            let counter = Counter()
            var events = SessionEvents()
            events.epoch = { _, _ in counter.epochs += 1 }
            events.shouldStop = { counter.epochs >= 3 }
            let interrupted = try Session(store: store, events: events).train(
                h, data: data, keepEvery: 1)
            // An epoch is reported once committed, in the background while the next trains: the
            // stop lands at the first batch after the third report, after epoch 3 or 4.
            guard case .interrupted(let id, lastEpoch: let stoppedAfter?) = interrupted, (3...4).contains(stoppedAfter) else {
                Issue.record("expected an interruption after epoch 3 or 4, got \(interrupted)")
                return
            }

            // When it is resumed without changes
            let resumed = try Session(store: store).resume(
                runID: id, from: nil, changes: ResumeChanges())

            // Then it continued in place to the same weights, rates and losses
            #expect(resumed == .completed(runID: id))
            let a = try store.epochs(runID: straight), b = try store.epochs(runID: id)
            #expect(b.map(\.epoch) == Array(1...6))
            #expect(b.map(\.learningRate) == a.map(\.learningRate))
            #expect(b.map(\.valLoss) == a.map(\.valLoss))
            #expect(b.compactMap(\.learningRate).count == 6)
            let last = try #require(try store.checkpoint(runID: id, epoch: 6))
            let reference = try #require(try store.checkpoint(runID: straight, epoch: 6))
            #expect(last.weights == reference.weights && last.velocity == reference.velocity)
            let run = try #require(try store.run(id: id))
            #expect(run.lrSchedule == schedule.description && run.weightDecay == 1e-3)
            #expect(run.patience == 4 && run.minLearningRate == 0.05)

            // And resuming it from epoch 3 with another weight decay forks a child with lineage
            var changes = ResumeChanges()
            changes.weightDecay = 1e-2
            changes.epochs = schedule == .cosine ? 6 : 7
            let fork = try Session(store: store).resume(runID: id, from: .epoch(3), changes: changes)
            guard case .completed(let child) = fork else {
                Issue.record("expected the fork to complete, got \(fork)")
                return
            }
            let forked = try #require(try store.run(id: child))
            #expect(child != id && forked.parentRunID == id && forked.parentEpoch == 3)
            #expect(forked.weightDecay == 1e-2)
            // The fork's schedule read its parent's epochs 1...3: its epoch 4 has the same rate.
            #expect(try store.epochs(runID: child).first?.learningRate == b[3].learningRate)
        }
    }

    @Test(arguments: [LearningRateSchedule.Kind.cosine, .plateau(patience: 1, factor: 0.5)])
    func aRunPausedAtRungsAndResumedEqualsAnUninterruptedOne(
        schedule: LearningRateSchedule.Kind
    ) throws {
        try withTemporaryStore { store in
            // Given the same settings trained straight through 6 epochs, every checkpoint kept
            let data = try Self.prepared()
            var h = controlled(schedule)
            h.patience = nil
            guard case .completed(let straight) = try Session(store: store).train(h, data: data, keepEvery: 1)
            else { Issue.record("the straight run did not complete"); return }

            // When a run of them pauses after epoch 1 and after 3 (as at ASHA's rungs), each time
            // resumed in place, and then runs to the end
            let first = try Session(store: store).train(h, data: data, keepEvery: 1, pauseAfter: 1)
            guard case .paused(let id, epoch: 1) = first else {
                Issue.record("expected a pause after epoch 1, got \(first)")
                return
            }
            #expect(try store.run(id: id)?.status == .interrupted)
            let second = try Session(store: store).resume(
                runID: id, from: nil, changes: ResumeChanges(), pauseAfter: 3)
            // A pause already reached writes nothing and says so
            let again = try Session(store: store).resume(
                runID: id, from: nil, changes: ResumeChanges(), pauseAfter: 3)
            let end = try Session(store: store).resume(runID: id, from: nil, changes: ResumeChanges())

            // Then every epoch, rate and checkpoint equals the uninterrupted run's, bit for bit
            #expect(second == .paused(runID: id, epoch: 3))
            #expect(again == .paused(runID: id, epoch: 3))
            #expect(end == .completed(runID: id))
            let a = try store.epochs(runID: straight), b = try store.epochs(runID: id)
            #expect(b.map(\.epoch) == Array(1...6))
            #expect(b.map(\.learningRate) == a.map(\.learningRate))
            #expect(b.map(\.valLoss) == a.map(\.valLoss))
            for epoch in 1...6 {
                let mine = try #require(try store.checkpoint(runID: id, epoch: epoch))
                let reference = try #require(try store.checkpoint(runID: straight, epoch: epoch))
                #expect(mine.weights == reference.weights && mine.velocity == reference.velocity)
            }
            #expect(try store.run(id: id)?.epochs == 6)
        }
    }
}
