import Foundation
import GRDB
import TestSupport
import Testing

@testable import Store

/// Migration 0006: the control settings on runs, the rate per epoch, and run_summary's
/// stopped_early_at, on new databases and on one that existed before it.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct TrainingControlsStoreTests {
    @Test func runsWrittenBefore0006ReadAsConstantUndecayedAndNeverStopped() throws {
        // Given a database at 0004 with a run and an epoch written by that schema
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        try writeOldDatabase(path, schema: 4, epoch: true)

        // When it is opened by this build
        let store = try Store.open(location: path)

        // Then the old run has the settings that describe what it did
        let summary = try #require(try store.summary(runID: 1))
        #expect(summary.run.lrSchedule == "constant" && summary.run.weightDecay == 0)
        #expect(summary.run.patience == nil && summary.run.minDelta == 0)
        #expect(summary.run.minLearningRate == 0)
        #expect(summary.stoppedEarlyAt == nil)
        #expect(try store.epochs(runID: 1).map(\.learningRate) == [nil])
    }

    @Test(arguments: TestEngine.all) func settingsAndRatesRoundTripAndAnEarlyStopIsDerived(engine: TestEngine) throws {
        // Given a run with patience 2 planned for 10 epochs
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        var new = NewRun.sample()
        new.patience = 2
        new.minDelta = 0.001
        new.lrSchedule = "plateau:3:0.5"
        new.minLearningRate = 0.001
        new.weightDecay = 1e-4
        let run = try store.createRun(new)

        // When it records four epochs with their rates and completes
        for epoch in 1...4 {
            var record = EpochRecord.sample(runID: run.id, epoch: epoch)
            record.learningRate = 0.1 / Double(epoch)
            try store.recordEpoch(record, checkpoint: nil, keepEvery: 50)
        }
        let running = try #require(try store.summary(runID: run.id))
        try store.finishRun(id: run.id, status: .completed)

        // Then its row, its epochs and its summary say what it did
        let summary = try #require(try store.summary(runID: run.id))
        #expect(summary.run.patience == 2 && summary.run.minDelta == 0.001)
        #expect(summary.run.lrSchedule == "plateau:3:0.5" && summary.run.minLearningRate == 0.001)
        #expect(summary.run.weightDecay == 1e-4)
        #expect(try store.epochs(runID: run.id).map(\.learningRate) == [0.1, 0.05, 0.1 / 3, 0.025])
        #expect(running.stoppedEarlyAt == nil)  // still running: not stopped
        #expect(summary.stoppedEarlyAt == 4)
    }

    @Test(arguments: TestEngine.all) func theSchemaRefusesImpossibleSettings(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        for bad in [
            { (n: inout NewRun) in n.patience = 0 }, { $0.weightDecay = -1 }, { $0.minDelta = -1 },
            { $0.lrSchedule = "linear" }, { $0.minLearningRate = -0.1 },
        ] as [(inout NewRun) -> Void] {
            var new = NewRun.sample()
            bad(&new)
            #expect(throws: (any Error).self) { try store.createRun(new) }
        }
    }
}
