import Foundation
import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct QueriesTests {
    @Test(arguments: TestEngine.all) func runSummaryBestEpochIsEarliestOnTies(engine: TestEngine) throws {
        // Given: val_loss 0.9, 0.4, 0.6, 0.4 — epochs 2 and 4 tie for best
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())
        let losses = [0.9, 0.4, 0.6, 0.4]
        for (index, loss) in losses.enumerated() {
            var epoch = EpochRecord.sample(runID: run.id, epoch: index + 1, valLoss: loss)
            epoch.valAccuracy = [0.5, 0.8, 0.7, 0.85][index]
            try store.recordEpoch(epoch, checkpoint: nil, keepEvery: 1)
        }

        // When
        let summary = try #require(try store.summary(runID: run.id))

        // Then
        #expect(summary.bestEpoch == 2)
        #expect(summary.bestValLoss == 0.4)
        #expect(summary.bestValAccuracy == 0.8)
        #expect(summary.maxValAccuracy == 0.85)
        #expect(summary.epochsDone == 4)
        #expect(summary.lastEpoch == 4)
        #expect(summary.lastValAccuracy == 0.85)
        #expect(summary.totalSeconds == 6)
        #expect(summary.run == run.withHeartbeat(of: summary.run))
    }

    @Test(arguments: TestEngine.all) func runWithoutEpochsAppearsInSummaries(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())

        // When
        let summary = try #require(try store.summaries().first)

        // Then
        #expect(summary.run.id == run.id)
        #expect(summary.epochsDone == 0)
        #expect(summary.bestEpoch == nil)
        #expect(summary.lastValLoss == nil)
        #expect(summary.totalSeconds == nil)
    }

    @Test(arguments: TestEngine.all) func listingsAreTheSummariesAsTheRunsTableShowsThem(engine: TestEngine) throws {
        // Given: three runs, the first with two epochs and completed, the others running
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let runs = try (0..<3).map { _ in try store.createRun(.sample()) }
        for epoch in 1...2 {
            try store.recordEpoch(.sample(runID: runs[0].id, epoch: epoch, valLoss: 0.5 / Double(epoch)), checkpoint: nil, keepEvery: 1)
        }
        try store.finishRun(id: runs[0].id, status: .completed)

        // When
        let listings = try store.listings()
        let watched = try store.listings(runningOrAfter: runs[2].id)

        // Then: every run, newest first, each its summary's listing
        #expect(listings == (try store.summaries()).map(RunListing.init))
        #expect(listings.map(\.id) == runs.map(\.id).reversed())
        #expect(listings.last?.lastEpoch == 2 && listings.last?.bestValLoss == 0.25)
        #expect(try store.listing(runID: runs[0].id) == listings.last)
        #expect(try store.listing(runID: 999) == nil)
        // And the runs table watches the running ones, none being after the newest
        #expect(watched.map(\.id) == [runs[1].id, runs[2].id])
    }

    @Test(arguments: TestEngine.all) func summariesFilterOrderAndLimit(engine: TestEngine) throws {
        // Given: three runs with best val_loss 0.3, (none), 0.2; the first completed
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let runs = try (0..<3).map { _ in try store.createRun(.sample()) }
        try store.recordEpoch(.sample(runID: runs[0].id, epoch: 1, valLoss: 0.3), checkpoint: nil, keepEvery: 1)
        try store.recordEpoch(.sample(runID: runs[2].id, epoch: 1, valLoss: 0.2), checkpoint: nil, keepEvery: 1)
        try store.finishRun(id: runs[0].id, status: .completed)

        // When
        let newest = try store.summaries(limit: 2).map(\.run.id)
        let best = try store.summaries(order: .bestValLoss).map(\.run.id)
        let running = try store.summaries(status: .running).map(\.run.id)

        // Then
        #expect(newest == [runs[2].id, runs[1].id])
        #expect(best == [runs[2].id, runs[0].id, runs[1].id])
        #expect(running == [runs[2].id, runs[1].id])
    }

    @Test(arguments: TestEngine.all) func statusCountsRowsAndFileSize(engine: TestEngine) throws {
        // Given
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let run = try store.createRun(.sample())
        try store.recordEpochs(runID: run.id, 1...3, keepEvery: 1)

        // When
        let status = try store.status()

        // Then
        #expect(status.path == store.location)
        #expect(status.runCount == 1)
        #expect(status.epochCount == 3)
        #expect(status.checkpointCount == 3)
        #expect(status.fileSizeBytes > 0)
    }
}

extension Run {
    /// This run with `other`'s heartbeat, which recordEpoch moves on.
    fileprivate func withHeartbeat(of other: Run) -> Run {
        var run = self
        run.heartbeatAt = other.heartbeatAt
        run.leaseExpiresAt = other.leaseExpiresAt
        return run
    }
}
