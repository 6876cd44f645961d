import Foundation
import TestSupport
import Testing

@testable import Store

/// Trials: each grid point once, claimed by one worker at a time, taken over only when its
/// holder is gone, settled only by its holder.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct TrialsTests {
    func sweep(_ store: Store, trials: Int) throws -> SweepRecord {
        try store.createSweep(grid: "{}") { id in
            (1...trials).map { #"{"sweep": \#(id), "seed": \#($0)}"# }
        }
    }

    @Test(arguments: TestEngine.all) func aGridPointListedTwiceIsRefusedWhole(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))

        let error = #expect(throws: StoreError.self) {
            try store.createSweep(grid: "{}") { _ in [#"{"seed": 1}"#, #"{"seed": 1}"#] }
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

    /// Sets every trial's own lease in the past, as if its holder had stopped renewing it.
    func expireTrialLeases(_ store: Store) throws {
        _ = try store.write { db in
            try db.execute("UPDATE trials SET lease_expires_at = '2000-01-01T00:00:00.000Z'")
        }
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
        try expireTrialLeases(store)
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
        // Given a worker whose trial was claimed by another once its lease expired
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try sweep(store, trials: 1)
        let stale = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        try expireTrialLeases(store)
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

    /// Gives the test server's database at `location` a clock `offset` away from this
    /// machine's ("1 hour", "-1 hour"), as a server on another machine may have: a `now()` of
    /// its own that every new session finds before pg_catalog's.
    func skewServerClock(_ location: String, by offset: String) throws {
        let name = try #require(URL(string: location)?.lastPathComponent)
        try PostgresServer.shared.psql(
            """
            CREATE SCHEMA skewed_clock;
            CREATE FUNCTION skewed_clock.now() RETURNS timestamptz LANGUAGE sql STABLE
                AS $$ SELECT pg_catalog.now() + interval '\(offset)' $$;
            CREATE FUNCTION skewed_clock.statement_timestamp() RETURNS timestamptz LANGUAGE sql STABLE
                AS $$ SELECT pg_catalog.statement_timestamp() + interval '\(offset)' $$;
            ALTER DATABASE \(name) SET search_path = public, skewed_clock, pg_catalog;
            """, database: name)
    }

    /// A store on a new database of the test server whose clock is `offset` off this
    /// machine's, its URL, and a one-trial sweep in it.
    func sweepOnSkewedServer(
        _ directory: TemporaryDirectory, by offset: String
    ) throws -> (Store, String, SweepRecord) {
        let location = try directory.location("lab")
        try skewServerClock(location, by: offset)
        let store = try Store.open(location: location)
        return (store, location, try sweep(store, trials: 1))
    }

    /// Seconds from this machine's clock to `timestamp` (a timestamp column's text).
    func secondsFromNow(_ timestamp: String?) throws -> Double {
        let date = try Date(
            try #require(timestamp), strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        return date.timeIntervalSinceNow
    }

    @Test(.enabled(if: PostgresServer.isAvailable, "needs the PostgreSQL test server"))
    func leasesAreJudgedByTheServersClockNeverAWorkers() throws {
        // Given a server whose clock is an hour behind the workers'
        let behind = try TemporaryDirectory(.postgres)
        let (store, slow, slowSweep) = try sweepOnSkewedServer(behind, by: "-1 hour")

        // When a worker claims the trial for 30 s
        let first = try #require(try store.claimTrial(sweepID: slowSweep.id, leaseSeconds: 30))

        // Then its lease ends 30 s after the server's now (an hour ago by the workers'
        // clocks), and no other worker takes it: by the server's clock it has not expired
        #expect(abs(try secondsFromNow(first.trial.leaseExpiresAt) + 3600 - 30) < 60)
        let other = try Store.open(location: slow)
        #expect(try other.claimTrial(sweepID: slowSweep.id, leaseSeconds: 30) == nil)

        // Given a server whose clock is an hour ahead of the workers'
        let ahead = try TemporaryDirectory(.postgres)
        let (early, fast, fastSweep) = try sweepOnSkewedServer(ahead, by: "1 hour")

        // When a worker's 0.5 s lease on the trial runs out by the server's clock
        let held = try #require(try early.claimTrial(sweepID: fastSweep.id, leaseSeconds: 0.5))
        #expect(abs(try secondsFromNow(held.trial.leaseExpiresAt) - 3600) < 60)
        let late = try Store.open(location: fast)
        var takeover: TrialClaim?
        for _ in 0..<600 where takeover == nil {
            takeover = try late.claimTrial(sweepID: fastSweep.id, leaseSeconds: 30)
            if takeover == nil { usleep(50_000) }
        }

        // Then another worker takes it over, though by its own clock the lease has an hour
        // left
        #expect(takeover?.trial.attempts == 2)
        #expect(takeover?.trial.number == 1)
    }
}

// MARK: - One liveness rule for runs and trials

extension TrialsTests {
    @Test(arguments: TestEngine.all) func aTrialWhoseWorkerDiedOnThisMachineIsFreeAtOnce(engine: TestEngine) throws {
        // Given a trial whose run a worker of this machine trains, its leases 30 s long
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let sweep = try sweep(store, trials: 2)
        let claim = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        var new = NewRun.sample()
        new.sweepID = sweep.id
        let (run, _) = try store.createRun(new, leaseSeconds: 30, for: claim)
        #expect(try store.sweepProgress(id: sweep.id).first?.running == 1)

        // When that worker is killed (its pid, in the run and the trial, no longer exists)
        let dead = try deadProcessID()
        try store.write { db in
            try db.execute("UPDATE runs SET pid = ? WHERE id = ?", [dead.sqlValue, run.id.sqlValue])
            try db.execute(
                "UPDATE trials SET worker = ? WHERE id = ?",
                ["\(Lease.hostName):\(dead)".sqlValue, claim.trial.id.sqlValue])
        }

        // Then readers show the run interrupted and the trial waiting, with no worker, at
        // once, both leases notwithstanding
        #expect(try store.run(id: run.id)?.status == .interrupted)
        let progress = try #require(try store.sweepProgress(id: sweep.id).first)
        #expect(progress.pending == 2 && progress.running == 0)
        #expect(progress.workers.isEmpty)
        #expect(try store.trials(sweepID: sweep.id).map(\.status) == [.pending, .pending])
        #expect(try store.summaries(sweepID: sweep.id).map(\.trialStatus) == [.pending])
        // While its row still says what its worker recorded: reads never write
        #expect(try Self.recordedStatus(store) == ["running", "pending"])

        // And the next worker, which releases what died first as `worker` does (the trial's
        // row then pending too), takes it over at once, with its run
        try store.releaseAbandonedRuns()
        #expect(try Self.recordedStatus(store) == ["pending", "pending"])
        let next = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        #expect(next.trial.number == 1 || next.trial.number == 2)
        let taken = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        #expect(Set([next.trial.number, taken.trial.number]) == [1, 2])
        #expect([next, taken].first { $0.trial.number == 1 }?.trial.runID == run.id)
    }

    /// Each trial's status column as written, in number order.
    static func recordedStatus(_ store: Store) throws -> [String] {
        try store.read { db in
            try db.fetch("SELECT status FROM trials ORDER BY number").map { try $0.get("status") }
        }
    }

    @Test(arguments: TestEngine.all) func runSummaryReadsATrialNoLiveWorkerHoldsAsPending(engine: TestEngine) throws {
        // Given a trial whose run a worker on another machine trains
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let sweep = try sweep(store, trials: 1)
        let claim = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        var new = NewRun.sample()
        new.sweepID = sweep.id
        let (run, _) = try store.createRun(new, leaseSeconds: 30, for: claim)
        let trialStatus = {
            try store.read { db in
                try db.scalar("SELECT trial_status FROM run_summary WHERE id = ?", [run.id.sqlValue], as: String.self)
            }
        }
        #expect(try trialStatus() == "running")

        // When that worker stops renewing: its run's lease and the trial's run out
        try expireLease(path, runID: run.id, host: "another-machine")
        try expireTrialLeases(store)

        // Then run_summary, as any SQL client reads it, says the trial waits for a worker, as
        // `sweeps` does, while the trial's own row still says running
        #expect(try trialStatus() == "pending")
        #expect(try store.trials(sweepID: sweep.id).map(\.status) == [.pending])
        #expect(try Self.recordedStatus(store) == ["running"])
    }

    @Test(arguments: TestEngine.all) func runSummaryAndClaimsReadOneLivenessRule(engine: TestEngine) throws {
        // Given three runs: one held, one whose lease expired, one interrupted
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let held = try store.createRun(.sample())
        let expired = try store.createRun(.sample())
        try expireLease(path, runID: expired.id, host: "another-machine")
        let ended = try store.createRun(.sample())
        try store.finishRun(id: ended.id, status: .interrupted)

        // Then live_runs lists exactly the held one, run_summary shows the others as not
        // running, and only they can be claimed
        let live: [Int64] = try store.read { db in
            try db.fetch("SELECT id FROM live_runs ORDER BY id").map { try $0.get("id") }
        }
        #expect(live == [held.id])
        #expect(try store.summaries().filter { $0.run.status == .running }.map(\.run.id) == [held.id])
        let update = RunUpdate(epochs: 10, keepEvery: 1, datasetPath: "/x")
        let refused = #expect(throws: StoreError.self) {
            try store.claimRun(id: held.id, update: update, leaseSeconds: 30)
        }
        #expect(refused.map { if case .runHeld = $0.kind { true } else { false } } == true)
        _ = try store.claimRun(id: expired.id, update: update, leaseSeconds: 30)
        _ = try store.claimRun(id: ended.id, update: update, leaseSeconds: 30)
    }
}

/// The pid of a process of this machine that has exited.
func deadProcessID() throws -> Int64 {
    let exited = Process()
    exited.executableURL = URL(fileURLWithPath: "/bin/true")
    try exited.run()
    exited.waitForExit()
    return Int64(exited.processIdentifier)
}
