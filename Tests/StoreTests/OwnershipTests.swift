import Foundation
import GRDB
import Synchronization
import TestSupport
import Testing

@testable import Store

/// One owner per run: claims are atomic, leases expire on the database's clock, a holder that
/// lost its lease writes nothing, and readers see a dead run as it is without writing.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct OwnershipTests {
    @Test(arguments: TestEngine.all) func claimIsRefusedWhileAnotherProcessHoldsTheRun(engine: TestEngine) throws {
        // Given: a run held by a live lease
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (run, _) = try store.createRun(.sample(), leaseSeconds: 30)
        let before = try store.run(id: run.id)

        // When
        let error = #expect(throws: StoreError.self) {
            try store.claimRun(
                id: run.id, update: RunUpdate(epochs: 99, keepEvery: 1, datasetPath: "/x"),
                leaseSeconds: 30)
        }

        // Then: refused, naming the holder, and nothing changed
        guard case .runHeld(let holder)? = error?.kind else {
            Issue.record("expected runHeld, got \(String(describing: error))")
            return
        }
        #expect(holder.pid == Int64(getpid()))
        #expect(holder.leaseExpiresAt == before?.leaseExpiresAt)
        #expect(try store.run(id: run.id) == before)
    }

    @Test(arguments: TestEngine.all) func expiredLeaseShowsInterruptedAndCanBeClaimed(engine: TestEngine) throws {
        // Given: a run whose holder stopped renewing (its lease is in the past) and whose pid
        // belongs to no process, so only the lease tells
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let (run, oldLease) = try store.createRun(.sample(), leaseSeconds: 30)
        try store.recordEpoch(
            .sample(runID: run.id, epoch: 1), checkpoint: nil, keepEvery: 1, lease: oldLease)
        try expireLease(path, runID: run.id, host: "another-machine")

        // When
        let shown = try Store.open(location: path, readOnly: true).run(id: run.id)
        let (claimed, newLease) = try store.claimRun(
            id: run.id, update: RunUpdate(epochs: 10, keepEvery: 1, datasetPath: "/x"),
            leaseSeconds: 30)

        // Then: readers saw it interrupted without any write; the claim took it
        #expect(shown?.status == .interrupted)
        #expect(claimed.status == .running)
        #expect(claimed.ownerToken == newLease.token)
        #expect(newLease.token != oldLease.token)
    }

    @Test func reusedPidDoesNotKeepADeadRunRunning() throws {
        // Given a run on this machine whose lease expired, its pid now taken by a live process
        // (pid 1 always exists)
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        let (run, _) = try store.createRun(.sample(), leaseSeconds: 30)
        try expireLease(path, runID: run.id, host: Lease.hostName)
        try rawDatabase(path).write { db in
            try db.execute(sql: "UPDATE runs SET pid = 1 WHERE id = ?", arguments: [run.id])
        }

        // Then the lease decides: the run is not running, and it can be claimed
        #expect(try store.run(id: run.id)?.status == .interrupted)
        #expect(throws: Never.self) {
            try store.claimRun(
                id: run.id, update: RunUpdate(epochs: 10, keepEvery: 1, datasetPath: "/x"),
                leaseSeconds: 30)
        }
    }

    @Test(arguments: TestEngine.all) func holderThatLostItsLeaseWritesNothing(engine: TestEngine) throws {
        // Given: a run taken over after its first holder's lease expired
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let (run, oldLease) = try store.createRun(.sample(), leaseSeconds: 30)
        try expireLease(path, runID: run.id, host: "another-machine")
        _ = try store.claimRun(
            id: run.id, update: RunUpdate(epochs: 10, keepEvery: 1, datasetPath: "/x"),
            leaseSeconds: 30)

        // When: the old holder wakes up and goes on
        let recording = #expect(throws: StoreError.self) {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: 1),
                checkpoint: CheckpointRecord(runID: run.id, epoch: 1, weights: [1]),
                keepEvery: 1, lease: oldLease)
        }
        let renewing = #expect(throws: StoreError.self) { try store.renewLease(oldLease) }
        let finishing = #expect(throws: StoreError.self) {
            try store.finishRun(oldLease, status: .failed, reason: "late")
        }

        // Then: each is refused as a lost lease, and no row was written
        for error in [recording, renewing, finishing] {
            #expect(error?.kind == .leaseLost(runID: run.id))
        }
        #expect(try store.epochs(runID: run.id).isEmpty)
        #expect(try store.checkpointEpochs(runID: run.id).isEmpty)
        #expect(try store.run(id: run.id)?.status == .running)
    }

    @Test(arguments: TestEngine.all) func expiredRunWhoseLastPlannedEpochWasCommittedShowsCompleted(engine: TestEngine) throws {
        // Given: a 2-epoch run that recorded both epochs, then died before closing
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        var new = NewRun.sample()
        new.epochs = 2
        let (run, lease) = try store.createRun(new, leaseSeconds: 30)
        for epoch in 1...2 {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: epoch), checkpoint: nil, keepEvery: 1, lease: lease)
        }
        try expireLease(path, runID: run.id, host: "another-machine")

        // Then
        #expect(try store.run(id: run.id)?.status == .completed)
        #expect(try store.summaries(status: .completed).map(\.run.id) == [run.id])
    }

    @Test func deadProcessOnThisHostIsSeenAtOnceAndReleased() throws {
        // Given: a run recorded as held, with a live lease, by a process that has exited
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        let (dead, _) = try store.createRun(.sample(), leaseSeconds: 30)
        let (alive, _) = try store.createRun(.sample(), leaseSeconds: 30)
        try giveDeadProcess(path, runID: dead.id)

        // When
        let reader = try Store.open(path: path, readOnly: true)
        let shown = try reader.run(id: dead.id)
        let listed = try reader.listings().map { ($0.id, $0.status) }
        let released = try store.releaseAbandonedRuns()

        // Then: readers saw it interrupted; the writer recorded it; the live one is untouched
        #expect(shown?.status == .interrupted)
        #expect(listed.map(\.0) == [alive.id, dead.id] && listed.map(\.1) == [.running, .interrupted])
        #expect(released == [dead.id])
        let row = try rawDatabase(path).read { db in
            try Row.fetchOne(db, sql: "SELECT status, owner_token FROM runs WHERE id = ?", arguments: [dead.id])
        }
        #expect(row?["status"] == "interrupted")
        #expect(row?["owner_token"] as String? == nil)
        #expect(try store.run(id: alive.id)?.status == .running)
    }

    @Test(arguments: TestEngine.all) func racingClaimsHaveOneWinner(engine: TestEngine) async throws {
        // Given: an interrupted run and eight connections, as eight processes would have
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let run = try store.createRun(.sample())
        try store.finishRun(id: run.id, status: .interrupted)
        let stores = try (0..<8).map { _ in try Store.open(location: path) }

        // When: all claim it at once
        let outcomes = await withTaskGroup(of: String.self) { group in
            for contender in stores {
                group.addTask {
                    do {
                        _ = try contender.claimRun(
                            id: run.id,
                            update: RunUpdate(epochs: 10, keepEvery: 1, datasetPath: "/x"),
                            leaseSeconds: 30)
                        return "won"
                    } catch let error as StoreError {
                        if case .runHeld = error.kind { return "held" }
                        return "\(error)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }

        // Then
        #expect(outcomes.sorted() == ["held", "held", "held", "held", "held", "held", "held", "won"])
    }

    @Test func writeHoldsTheWriteLockFromItsStartSoNoOtherCommitMakesItsReadStale() throws {
        // Given a held run, and a second connection to the file, as another process has
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        let (run, lease) = try store.createRun(.sample(), leaseSeconds: 30)
        let waited = Mutex(false)
        let committed = Mutex(false)
        var configuration = Configuration()
        configuration.busyMode = .callback { tries in
            waited.withLock { $0 = true }
            usleep(1_000)
            return tries < 30_000
        }
        let other = try DatabaseQueue(path: path, configuration: configuration)

        // When a write transaction reads, the other connection tries to commit, and the
        // transaction then writes (SQLite fails that write at once, SQLITE_BUSY_SNAPSHOT, when
        // another commit came between: the busy timeout never applies to it)
        let otherCameBetween = try store.write { db -> Bool in
            _ = try db.fetch("SELECT * FROM runs WHERE id = ?", [run.id.sqlValue])
            DispatchQueue.global().async {
                try? other.write { db in
                    try db.execute(
                        sql: "UPDATE runs SET name = 'renamed' WHERE id = ?", arguments: [run.id])
                }
                committed.withLock { $0 = true }
            }
            #expect(eventually(within: 30) { waited.withLock { $0 } || committed.withLock { $0 } })
            try store.renew(lease, db)
            return !waited.withLock { $0 }
        }

        // Then the other connection waited for the lock rather than committing in between, and
        // committed once the transaction had
        #expect(!otherCameBetween)
        #expect(eventually(within: 30) { committed.withLock { $0 } })
        #expect(try store.run(id: run.id)?.name == "renamed")
    }

    @Test func claimWaitsForAnotherProcessesWriteTransactionInsteadOfFailingAtOnce() throws {
        // Given a run whose holder's lease expired, and another connection holding the write
        // lock, as a trainer committing an epoch does
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        let (run, _) = try store.createRun(.sample(), leaseSeconds: 30)
        try expireLease(path, runID: run.id, host: "another-machine")
        let other = try DatabaseQueue(path: path)
        let (holding, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        DispatchQueue.global().async {
            try? other.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    holding.signal()
                    release.wait()
                    return .commit
                }
            }
        }
        #expect(holding.wait(timeout: .now() + 30) == .success)

        // When another process claims the run meanwhile
        let claimed = Mutex<Result<Run, any Error>?>(nil)
        DispatchQueue.global().async {
            let outcome = Result {
                try store.claimRun(
                    id: run.id, update: RunUpdate(epochs: 10, keepEvery: 1, datasetPath: "/x"),
                    leaseSeconds: 30
                ).0
            }
            claimed.withLock { $0 = outcome }
        }
        // (a claim failing at once with "database is locked" would have ended by then)
        let endedWhileLocked = eventually(within: 0.5) { claimed.withLock { $0 != nil } }
        release.signal()

        // Then it waits for the lock and takes the run once the other transaction commits
        #expect(!endedWhileLocked)
        #expect(eventually(within: 30) { claimed.withLock { $0 != nil } })
        let outcome = try #require(claimed.withLock { $0 })
        #expect(try outcome.get().status == .running)
    }
}

/// Records as the run's holder a process of this machine that has exited.
func giveDeadProcess(_ path: String, runID: Int64) throws {
    let dead = try deadProcessID()
    let store = try Store.open(location: path)
    defer { try? store.close() }
    _ = try store.write { db in
        try db.execute(
            "UPDATE runs SET pid = ? WHERE id = ?",
            [dead.sqlValue, runID.sqlValue])
    }
}

/// Puts the run's lease in the past, as if its holder on `host` had stopped renewing it.
func expireLease(_ location: String, runID: Int64, host: String) throws {
    let store = try Store.open(location: location)
    defer { try? store.close() }
    _ = try store.write { db in
        try db.execute(
            """
            UPDATE runs SET host = ?, lease_expires_at = '2000-01-01T00:00:00.000Z'
            WHERE id = ?
            """,
            [host.sqlValue, runID.sqlValue])
    }
}
