import Foundation
import Testing

@testable import Store

/// Trials: each grid point once, claimed by one worker at a time, taken over only when its
/// holder is gone, settled only by its holder.
@Suite struct TrialsTests {
    func sweep(_ store: Store, trials: Int) throws -> SweepRecord {
        try store.createSweep(grid: "{}") { id in
            (1...trials).map { ["--sweep", "\(id)", "--seed", "\($0)"] }
        }
    }

    @Test(arguments: TestEngine.all) func aGridPointListedTwiceIsRefusedWhole(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))

        let error = #expect(throws: StoreError.self) {
            try store.createSweep(grid: "{}") { _ in [["--seed", "1"], ["--seed", "1"]] }
        }

        #expect(error?.kind == .invalidArgument)
        #expect(try store.sweepProgress().isEmpty)
    }

    @Test(arguments: TestEngine.all) func racingWorkersEachGetADifferentTrialAndTheLastOneOnce(engine: TestEngine) async throws {
        // Given a sweep of 3 trials and 8 connections, as 8 workers would have
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let sweep = try sweep(try Store.open(location: path), trials: 3)
        let stores = try (0..<8).map { _ in try Store.open(location: path) }

        // When all claim at once
        let claimed = try await withThrowingTaskGroup(of: Int?.self) { group in
            for store in stores {
                group.addTask { try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30)?.trial.number }
            }
            return try await group.reduce(into: [Int]()) { if let n = $1 { $0.append(n) } }
        }

        // Then three got one trial each, and five got none
        #expect(claimed.sorted() == [1, 2, 3])
    }

    @Test(arguments: TestEngine.all) func aRunningTrialIsTakenOverOnlyOnceItsHolderIsGone(engine: TestEngine) throws {
        // Given a trial held by a worker whose run is live
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let sweep = try sweep(store, trials: 1)
        let first = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        var new = NewRun.sample()
        new.sweepID = sweep.id
        let (run, _) = try store.createRun(new, leaseSeconds: 30, for: first)

        // Then nobody else can take it, even once the trial's own lease expired
        try store.write { db in
            try db.execute("UPDATE trials SET lease_expires_at = '2000-01-01T00:00:00.000Z'")
        }
        #expect(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30) == nil)

        // When the run's lease expires too (its worker died)
        try expireLease(path, runID: run.id, host: "another-machine")
        let second = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))

        // Then the next worker gets it with its run and a second attempt; the first can no
        // longer settle it
        #expect(second.trial.runID == run.id)
        #expect(second.trial.attempts == 2)
        let late = #expect(throws: StoreError.self) {
            try store.finishTrial(first, status: .completed)
        }
        #expect(late?.kind == .trialLost(sweepID: sweep.id, number: 1))
        try store.finishTrial(second, status: .completed)
        #expect(try store.trials(sweepID: sweep.id).map(\.status) == [.completed])
    }

    @Test(arguments: TestEngine.all) func aRunIsLinkedToItsTrialOnlyByTheTrialsHolder(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let sweep = try sweep(store, trials: 1)
        let stale = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        try store.write { db in
            try db.execute("UPDATE trials SET lease_expires_at = '2000-01-01T00:00:00.000Z'")
        }
        _ = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))

        // When the worker that lost the trial creates its run
        var new = NewRun.sample()
        new.sweepID = sweep.id
        let error = #expect(throws: StoreError.self) {
            try store.createRun(new, leaseSeconds: 30, for: stale)
        }

        // Then no run was created: a trial never gets a second run
        #expect(error?.kind == .trialLost(sweepID: sweep.id, number: 1))
        #expect(try store.summaries().isEmpty)
    }

    @Test(arguments: TestEngine.all) func progressCountsTrialsByStatus(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try sweep(store, trials: 3)
        let claim = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        try store.finishTrial(claim, status: .failed, reason: "loss became NaN")
        _ = try store.claimTrial(sweepID: nil, leaseSeconds: 30)

        let progress = try #require(try store.sweepProgress(id: sweep.id).first)

        let counts: [Int] = [progress.pending, progress.running, progress.completed, progress.failed]
        #expect(counts == [1, 1, 0, 1])
        #expect(progress.workers.count == 1)
        #expect(!progress.isFinished)
    }
}
