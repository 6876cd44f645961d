import Foundation
import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct WritesTests {
    @Test(arguments: TestEngine.all) func createRunStartsRunningWithDefaultName(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))

        // When
        let first = try store.createRun(.sample())
        let named = try store.createRun(.sample(name: "wide"))

        // Then
        #expect(first.name == "run-\(first.id)")
        #expect(named.name == "wide")
        #expect(first.status == .running)
        #expect(first.pid == Int64(getpid()))
        #expect(first.finishedAt == nil)
        #expect(first.createdAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
        #expect(try store.run(id: first.id) == first)
        #expect(try store.run(named: "wide") == named)
        #expect(try store.summaries(status: .running).map(\.run.id) == [named.id, first.id])
    }

    @Test(arguments: TestEngine.all) func finishThenResumeInPlace(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())

        // When
        try store.finishRun(id: run.id, status: .failed, reason: "loss became NaN at epoch 7")
        let failed = try store.run(id: run.id)
        _ = try store.claimRun(
            id: run.id, update: RunUpdate(epochs: 20, keepEvery: 5, datasetPath: "/moved"),
            leaseSeconds: 30)
        let resumed = try store.run(id: run.id)

        // Then
        #expect(failed?.status == .failed)
        #expect(failed?.finishedAt != nil)
        #expect(failed?.failureReason == "loss became NaN at epoch 7")
        #expect(resumed?.status == .running)
        #expect(resumed?.finishedAt == nil)
        #expect(resumed?.failureReason == nil)
        #expect(resumed?.epochs == 20)
        #expect(resumed?.keepEvery == 5)
        #expect(resumed?.datasetPath == "/moved")
    }

    @Test(arguments: TestEngine.all) func unknownRunIsReported(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)

        // When
        let finishing = #expect(throws: StoreError.self) {
            try store.finishRun(id: 99, status: .completed)
        }
        let recording = #expect(throws: StoreError.self) {
            try store.recordEpoch(.sample(runID: 99, epoch: 1), checkpoint: nil, keepEvery: 1)
        }

        // Then
        #expect(finishing?.description == "Cannot mark run 99 completed in \(store.location): there is no run 99.")
        #expect(recording?.description == "Cannot record epoch 1 of run 99 in \(store.location): there is no run 99.")
    }

    @Test(arguments: TestEngine.all) func recordEpochIsAllOrNothing(engine: TestEngine) throws {
        // Given: a checkpoint for an epoch that is already recorded
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())
        try store.recordEpochs(runID: run.id, 1...1, keepEvery: 1)

        // When: recording epoch 1 again fails on its metrics row
        #expect(throws: StoreError.self) {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: 1, valLoss: 0.1),
                checkpoint: CheckpointRecord(runID: run.id, epoch: 1, weights: [9]), keepEvery: 1)
        }

        // Then: nothing of it was written
        #expect(try store.epochs(runID: run.id).map(\.valLoss) == [0.5])
        #expect(try store.checkpoint(runID: run.id, epoch: 1)?.weights == [1])
    }

    // MARK: - Checkpoint retention

    @Test(arguments: TestEngine.all) func retentionKeepsBestLatestAndEveryKeepEvery(engine: TestEngine) throws {
        // Given: 120 epochs whose val_loss bottoms out at epoch 37
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample(keepEvery: 50))

        // When
        try store.recordEpochs(runID: run.id, 1...120, keepEvery: 50) { epoch in
            1 + Double((epoch - 37) * (epoch - 37)) / 100
        }

        // Then
        #expect(try store.checkpointEpochs(runID: run.id) == [37, 50, 100, 120])
        #expect(try store.epochs(runID: run.id).count == 120)
    }

    @Test(arguments: TestEngine.all) func keepEveryOneKeepsAll(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample(keepEvery: 1))

        // When
        try store.recordEpochs(runID: run.id, 1...12, keepEvery: 1) { Double($0) }

        // Then
        #expect(try store.checkpointEpochs(runID: run.id) == Array(1...12))
    }

    @Test(arguments: TestEngine.all) func forkedFromEpochIsKept(engine: TestEngine) throws {
        // Given: a child forked from epoch 3 of its parent
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let parent = try store.createRun(.sample(keepEvery: 10))
        try store.recordEpochs(runID: parent.id, 1...3, keepEvery: 10)
        let child = try store.createRun(.sample(parentRunID: parent.id, parentEpoch: 3))

        // When: the parent goes on and epoch 3 is neither best, latest nor a multiple of 10
        try store.recordEpochs(runID: parent.id, 4...8, keepEvery: 10) { 0.5 - Double($0) / 100 }
        try store.recordEpochs(runID: child.id, 4...5, keepEvery: 10)

        // Then
        #expect(try store.checkpointEpochs(runID: parent.id) == [3, 8])
        #expect(try store.summary(runID: child.id)?.lastEpoch == 5)
    }

    @Test(arguments: TestEngine.all) func forkNeedsTheParentCheckpoint(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let parent = try store.createRun(.sample())
        try store.recordEpoch(.sample(runID: parent.id, epoch: 1), checkpoint: nil, keepEvery: 1)

        // When
        let error = #expect(throws: StoreError.self) {
            try store.createRun(.sample(parentRunID: parent.id, parentEpoch: 1))
        }

        // Then
        #expect(error?.reason == "run \(parent.id) has no checkpoint at epoch 1 to fork from.")
    }
}
