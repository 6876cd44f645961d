import Foundation
import GRDB
import TestSupport
import Testing

@testable import Store

/// Managing runs: tags and notes in run_summary, `removeRuns` keeping every foreign key and
/// run_stats right, pruning keeping exactly its retention set, vacuum giving space back.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct RunManagementTests {
    // MARK: - Tags, notes, names

    @Test func tagsAreSortedInRunSummaryAndNullWhenNone() throws {
        // Given two runs
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path("lab.sqlite"))
        let first = try store.createRun(.sample())
        let second = try store.createRun(.sample())

        // When the first gets three tags (one twice) and loses one, the second one tag
        try store.tagRuns([first.id], with: ["zeta", "alpha", "mid"])
        try store.tagRuns([first.id, second.id], with: ["alpha"])
        let removed = try store.untagRuns([first.id], removing: ["mid", "absent"])

        // Then run_summary lists them sorted and comma-separated, and NULL for no tags
        #expect(removed == 1)
        let tags = try store.writer.read { db in
            try String?.fetchAll(db, sql: "SELECT tags FROM run_summary ORDER BY id")
        }
        #expect(tags == ["alpha,zeta", "alpha"])
        try store.untagRuns([second.id], removing: ["alpha"])
        #expect(try store.summary(runID: second.id)?.tags == [])
        let none = try store.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT tags FROM run_summary WHERE id = ?", arguments: [second.id])
        }
        #expect(none?.hasNull(atIndex: 0) == true)
        #expect(try store.summary(runID: first.id)?.tags == ["alpha", "zeta"])
        #expect(try store.summaries(tag: "zeta").map(\.run.id) == [first.id])
        #expect(try store.summaries(tag: "alpha", order: .bestValLoss).map(\.run.id) == [first.id])
    }

    @Test func tagsInRunSummaryAreOneIndexLookUpPerRun() throws {
        // Given a database
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path("lab.sqlite"))

        // When SQLite plans a ranking and a tag filter over run_summary
        let plan = try store.writer.read { db in
            try [
                "SELECT * FROM run_summary ORDER BY id DESC LIMIT 20",
                "SELECT * FROM run_summary WHERE id IN (SELECT run_id FROM run_tags WHERE tag = 'x')",
            ].flatMap { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
            }
        }

        // Then run_tags is only ever searched through an index, never scanned, so the view
        // stays as fast at 10,000 runs as before it had tags
        #expect(plan.contains("SEARCH run_tags USING PRIMARY KEY (run_id=?)"), "\(plan)")
        #expect(plan.contains { $0.hasPrefix("SEARCH run_tags USING COVERING INDEX run_tags_by_tag") })
        #expect(!plan.contains { $0.hasPrefix("SCAN run_tags") }, "\(plan)")
    }

    @Test(arguments: TestEngine.all) func noteAndNameChangeOnALiveRun(engine: TestEngine) throws {
        // Given a run being trained (its lease is held)
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample(name: "old"))

        // When it is renamed and noted, then the note is cleared with ""
        try store.renameRun(id: run.id, to: "new")
        try store.setNote(runID: run.id, "why it was started")
        let noted = try store.summary(runID: run.id)
        try store.setNote(runID: run.id, "")

        // Then both changed, and it is still held: the trainer's next epoch commits
        #expect(noted?.run.name == "new")
        #expect(noted?.run.note == "why it was started")
        #expect(try store.run(id: run.id)?.note == nil)
        try store.recordEpochs(runID: run.id, 1...1, keepEvery: 1)
        #expect(try store.run(id: run.id)?.status == .running)
    }

    @Test(arguments: TestEngine.all) func unknownRunIsRefusedAndNothingIsWritten(engine: TestEngine) throws {
        // Given one run
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())

        // When another, unknown, is tagged with it
        let error = #expect(throws: StoreError.self) {
            try store.tagRuns([run.id, 99], with: ["x"])
        }

        // Then nothing is tagged
        #expect(error?.kind == .notFound)
        #expect(error?.description.hasSuffix("there is no run 99.") == true)
        #expect(try store.summary(runID: run.id)?.tags == [])
    }

    // MARK: - Removing runs

    @Test(arguments: TestEngine.all) func forkParentIsNotRemovedWithoutItsForks(engine: TestEngine) throws {
        // Given run 1 with a fork 2 from its epoch 3, and 3 forked from 2
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (parent, fork, grandchild) = try lineage(store)
        let before = try dump(store)

        // When run 1 alone is removed
        let error = #expect(throws: StoreError.self) {
            try store.removeRuns([parent], withForks: false)
        }

        // Then it is refused, naming its fork, and nothing changed
        #expect(error?.kind == .hasForks(runID: parent, forks: [fork]))
        #expect(try dump(store) == before)

        // When it is removed with its forks: the whole subtree goes, forks first
        let removal = try store.removeRuns([parent], withForks: true)
        #expect(removal.runs.map(\.runID) == [grandchild, fork, parent])
        #expect(try store.summaries().isEmpty)
        try expectConsistent(store)
    }

    @Test(arguments: TestEngine.all) func runsNamedTogetherWithTheirForksNeedNoFlag(engine: TestEngine) throws {
        // Given a parent and its fork chain
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (parent, fork, grandchild) = try lineage(store)

        // When all three are named
        try store.removeRuns([parent, fork, grandchild], withForks: false)

        // Then all are gone
        #expect(try store.summaries().isEmpty)
        try expectConsistent(store)
    }

    @Test(arguments: TestEngine.all) func removingAForkKeepsItsParentWhole(engine: TestEngine) throws {
        // Given a parent with an evaluated fork, and an unrelated run
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (parent, fork, grandchild) = try lineage(store)
        let other = try store.createRun(.sample())
        try store.recordEpochs(runID: other.id, 1...4, keepEvery: 1) { 0.1 / Double($0) }
        try store.finishRun(id: other.id, status: .completed)
        try store.recordEvaluation(evaluation(runID: fork, epoch: 5))
        try store.tagRuns([fork, parent], with: ["kept-or-not"])
        let parentBefore = try store.summary(runID: parent)
        let parentCheckpoints = try store.checkpointEpochs(runID: parent)

        // When the fork (with its own fork) is removed
        let removal = try store.removeRuns([fork], withForks: true)

        // Then the parent, its checkpoints and tags are as they were; summaries, rankings
        // and every foreign key agree
        #expect(removal.runs.map(\.runID) == [grandchild, fork])
        #expect(removal.runs.last?.evaluations == 1)
        #expect(try store.summary(runID: parent) == parentBefore)
        #expect(try store.checkpointEpochs(runID: parent) == parentCheckpoints)
        #expect(try store.summaries().map(\.run.id) == [other.id, parent])
        #expect(try store.summaries(limit: 1, order: .bestValLoss).first?.run.id == other.id)
        #expect(try store.summaries(tag: "kept-or-not").map(\.run.id) == [parent])
        #expect(try store.forks(of: parent).isEmpty)
        #expect(try store.evaluations(runID: fork).isEmpty)
        try expectConsistent(store)
    }

    @Test(arguments: TestEngine.all) func liveRunIsNotRemovedButADeadOneIs(engine: TestEngine) throws {
        // Given a run being trained and one whose holder stopped renewing its lease
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let live = try store.createRun(.sample())
        let dead = try store.createRun(.sample())
        try store.recordEpochs(runID: dead.id, 1...2, keepEvery: 1)
        try expireLease(path, runID: dead.id, host: "another-machine")

        // When both are removed
        let error = #expect(throws: StoreError.self) {
            try store.removeRuns([dead.id, live.id], withForks: false)
        }

        // Then refused for the live one, naming its process; nothing removed
        guard case .runsLive(let holders)? = error?.kind else {
            Issue.record("expected runsLive, got \(String(describing: error))")
            return
        }
        #expect(holders.map(\.runID) == [live.id])
        #expect(holders.first?.pid == Int64(getpid()))
        #expect(try store.summaries().count == 2)

        // When only the dead one is removed, it goes
        try store.removeRuns([dead.id], withForks: false)
        #expect(try store.summaries().map(\.run.id) == [live.id])
        try expectConsistent(store)
    }

    @Test(arguments: TestEngine.all) func runWhoseProcessDiedOnThisHostIsRemovedBeforeItsLeaseExpires(engine: TestEngine) throws {
        // Given a run held, with a live lease, by a process of this machine that has exited
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let run = try store.createRun(.sample())
        try giveDeadProcess(path, runID: run.id)

        // When the file is vacuumed, and the run removed
        _ = try store.vacuum()
        try store.removeRuns([run.id], withForks: false)

        // Then neither was refused
        #expect(try store.summaries().isEmpty)
        try expectConsistent(store)
    }

    @Test func dryRunPlanIsWhatRemovalDoes() throws {
        // Given a lineage
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path("lab.sqlite"))
        let (parent, _, _) = try lineage(store)
        let bytes = try store.writer.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT sum(length(weights) + coalesce(length(velocity), 0)) FROM checkpoints")
        }

        // When planned, read-only, then done
        let plan = try Store.open(path: store.location, readOnly: true)
            .removalPlan([parent], withForks: true)
        let done = try store.removeRuns([parent], withForks: true)

        // Then the plan was exact, its bytes those of every checkpoint
        #expect(plan == done)
        #expect(plan.checkpointBytes == bytes)
        #expect(plan.checkpointBytes > 0)
    }

    // MARK: - Pruning

    @Test(arguments: TestEngine.all) func pruneKeepsExactlyBestLastForksAndMultiples(engine: TestEngine) throws {
        // Given 20 epochs kept every one, best at 7, and a fork from epoch 4
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample(keepEvery: 1))
        try store.recordEpochs(runID: run.id, 1...20, keepEvery: 1) { $0 == 7 ? 0.1 : 1.0 }
        try store.finishRun(id: run.id, status: .completed)
        let fork = try store.createRun(.sample(parentRunID: run.id, parentEpoch: 4))
        try store.finishRun(id: fork.id, status: .interrupted)
        let summaryBefore = try store.summary(runID: run.id)
        let epochsBefore = try store.epochs(runID: run.id)

        // When every:5 is kept, then nothing beyond best, last and forks
        let plan = try store.pruningPlan([run.id], keepEvery: 5)
        let withMultiples = try store.pruneCheckpoints([run.id], keepEvery: 5)
        let kept5 = try store.checkpointEpochs(runID: run.id)
        let minimal = try store.pruneCheckpoints(nil, keepEvery: nil)

        // Then exactly those stay; epochs, run_stats and the summary are untouched
        #expect(plan == withMultiples)
        #expect(kept5 == [4, 5, 7, 10, 15, 20])
        #expect(withMultiples.runs.first?.dropped == [1, 2, 3, 6, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19])
        #expect(withMultiples.runs.first?.droppedBytes == Int64(14 * 4))  // 4-byte weights
        #expect(try store.checkpointEpochs(runID: run.id) == [4, 7, 20])
        #expect(minimal.runs.map(\.runID) == [run.id])
        #expect(minimal.runs.first?.kept == [4, 7, 20])
        #expect(minimal.runs.first?.forkEpochs == [4])
        #expect(try store.epochs(runID: run.id) == epochsBefore)
        #expect(try store.summary(runID: run.id) == summaryBefore)
        try expectConsistent(store)
    }

    @Test(arguments: TestEngine.all) func pruneOfAnUnknownRunIsRefused(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let error = #expect(throws: StoreError.self) {
            try store.pruneCheckpoints([5], keepEvery: nil)
        }
        #expect(error?.kind == .notFound)
    }

    // MARK: - Space

    @Test(arguments: TestEngine.all) func checkpointSpaceListsTheLargestRunsFirst(engine: TestEngine) throws {
        // Given runs with 3, 1 and 2 checkpoints
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        for count in [3, 1, 2] {
            let run = try store.createRun(.sample())
            try store.recordEpochs(runID: run.id, 1...count, keepEvery: 1)
        }

        // When
        let space = try store.checkpointSpace(limit: 2)

        // Then
        #expect(space.map(\.runID) == [1, 3])
        #expect(space.map(\.bytes) == [12, 8])
        #expect(try store.status().checkpointBytes == 24)
    }

    @Test(arguments: TestEngine.all) func vacuumIsRefusedWhileARunIsLiveAndShrinksTheFileAfter(engine: TestEngine) throws {
        // Given a run with large checkpoints, still held
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let run = try store.createRun(.sample(keepEvery: 1))
        let weights = [Float](repeating: 0.5, count: 100_000)
        for epoch in 1...10 {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: epoch, valLoss: 1 / Double(epoch)),
                checkpoint: CheckpointRecord(runID: run.id, epoch: epoch, weights: weights),
                keepEvery: 1)
        }

        // When vacuumed while live
        let error = #expect(throws: StoreError.self) { try store.vacuum() }

        // Then refused, naming the run
        guard case .runsLive(let holders)? = error?.kind else {
            Issue.record("expected runsLive, got \(String(describing: error))")
            return
        }
        #expect(holders.map(\.runID) == [run.id])

        // When it is finished, pruned and vacuumed
        try store.finishRun(id: run.id, status: .completed)
        try store.pruneCheckpoints(nil, keepEvery: nil)
        let before = try store.vacuum().bytesBefore
        // On PostgreSQL a deleted row can only be cleaned up once no snapshot can see it, and
        // a session still connecting to any database of the server (other tests open many)
        // holds that horizon back for a moment: vacuum again while it has not caught up.
        var after = try store.status().fileSizeBytes
        for _ in 0..<20 where engine == .postgres && before - after <= 9 * 400_000 * 9 / 10 {
            Thread.sleep(forTimeInterval: 0.25)
            after = try store.vacuum().bytesAfter
        }

        // Then the file lost (most of) the nine dropped checkpoints' 3.6 MB, and is whole
        #expect(before - after > 9 * 400_000 * 9 / 10)
        #expect(try store.checkpointEpochs(runID: run.id) == [10])
        try expectConsistent(store)
    }

    // MARK: - Helpers

    /// Run 1 (6 epochs, best 3), fork 2 from its epoch 3 (to epoch 5), fork 3 from 2's
    /// epoch 5; all finished.
    private func lineage(_ store: Store) throws -> (Int64, Int64, Int64) {
        let parent = try store.createRun(.sample(keepEvery: 1))
        try store.recordEpochs(runID: parent.id, 1...6, keepEvery: 1) { $0 == 3 ? 0.2 : 0.9 }
        try store.finishRun(id: parent.id, status: .completed)
        try store.recordEvaluation(evaluation(runID: parent.id, epoch: 3))
        let fork = try store.createRun(.sample(parentRunID: parent.id, parentEpoch: 3, keepEvery: 1))
        try store.recordEpochs(runID: fork.id, 4...5, keepEvery: 1)
        try store.finishRun(id: fork.id, status: .completed)
        let grandchild = try store.createRun(.sample(parentRunID: fork.id, parentEpoch: 5))
        try store.recordEpochs(runID: grandchild.id, 6...6, keepEvery: 1)
        try store.finishRun(id: grandchild.id, status: .completed)
        return (parent.id, fork.id, grandchild.id)
    }

    private func evaluation(runID: Int64, epoch: Int) -> EvaluationRecord {
        EvaluationRecord(
            runID: runID, epoch: epoch, datasetChecksum: "sha256:abc", testSize: 10,
            testLoss: 0.3, testAccuracy: 0.9,
            confusion: (0..<10).map { t in (0..<10).map { $0 == t ? 1 : 0 } })
    }

    /// Every row of every table, to show a refusal changed nothing.
    private func dump(_ store: Store) throws -> [String] {
        try store.read { db in
            try [
                "runs", "epochs", "checkpoints", "evaluations", "confusion", "run_tags", "run_stats",
            ].flatMap { table in
                try db.fetch("SELECT * FROM \(table)").map { "\(table) \($0.values)" }
            }
        }
    }
}

/// Foreign keys and the file are sound, run_stats has one row per run and its figures are
/// those of the epochs left.
func expectConsistent(_ store: Store) throws {
    if let file = try? store.writer {
        try file.read { (db: Database) throws in
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
        }
    }
    try store.read { db in
        let orphans: Int? = try db.scalar(
            "SELECT count(*) FROM run_stats WHERE run_id NOT IN (SELECT id FROM runs)")
        #expect(orphans == 0)
        let missing: Int? = try db.scalar(
            "SELECT count(*) FROM runs WHERE id NOT IN (SELECT run_id FROM run_stats)")
        #expect(missing == 0)
        let wrong: Int? = try db.scalar(
            """
            SELECT count(*) FROM run_stats AS s
            WHERE s.epochs_done <> (SELECT count(*) FROM epochs WHERE run_id = s.run_id)
               OR s.last_epoch IS DISTINCT FROM (SELECT max(epoch) FROM epochs WHERE run_id = s.run_id)
               OR s.best_epoch IS DISTINCT FROM (SELECT epoch FROM epochs WHERE run_id = s.run_id
                                                 ORDER BY val_loss, epoch LIMIT 1)
               OR s.best_val_accuracy IS DISTINCT FROM
                      (SELECT val_accuracy FROM epochs WHERE run_id = s.run_id AND epoch = s.best_epoch)
               OR s.last_val_loss IS DISTINCT FROM
                      (SELECT val_loss FROM epochs WHERE run_id = s.run_id AND epoch = s.last_epoch)
            """)
        #expect(wrong == 0)
        let tagsOfNoRun: Int? = try db.scalar(
            "SELECT count(*) FROM run_tags WHERE run_id NOT IN (SELECT id FROM runs)")
        #expect(tagsOfNoRun == 0)
    }
}

// MARK: - Runs of sweeps, and sweeps

extension RunManagementTests {
    /// A sweep of `trials` trials whose trial 1 was trained to a completed run of 3 epochs.
    static func sweepWithOneRun(_ store: Store, trials: Int = 2) throws -> (SweepRecord, Run) {
        let sweep = try store.createSweep(grid: "{}") { id in
            (1...trials).map { #"{"sweep": \#(id), "seed": \#($0)}"# }
        }
        let claim = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        var new = NewRun.sample()
        new.sweepID = sweep.id
        let (run, lease) = try store.createRun(new, leaseSeconds: 30, for: claim)
        for epoch in 1...3 {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: epoch),
                checkpoint: CheckpointRecord(runID: run.id, epoch: epoch, weights: [1]),
                keepEvery: 1, lease: lease)
        }
        try store.finishRun(lease, status: .completed)
        try store.finishTrial(claim, status: .completed)
        return (sweep, run)
    }

    @Test(arguments: TestEngine.all) func aSweepsRunIsRemovedAndItsTrialIsPendingAgain(engine: TestEngine) throws {
        // Given a sweep whose trial 1 completed as a run
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (sweep, run) = try Self.sweepWithOneRun(store)

        // When the run is removed, after a dry run
        let plan = try store.removalPlan([run.id], withForks: false)
        let removal = try store.removeRuns([run.id], withForks: false)

        // Then the dry run said exactly what the removal did: the run went, and its trial is
        // pending again with no run and no attempts, for the sweep's next worker
        #expect(plan == removal)
        #expect(removal.runs.map(\.runID) == [run.id])
        #expect(removal.trialResets == [.init(sweepID: sweep.id, number: 1, runID: run.id)])
        #expect(try store.run(id: run.id) == nil)
        let trial = try #require(try store.trials(sweepID: sweep.id).first)
        #expect(trial.status == .pending && trial.runID == nil && trial.attempts == 0)
        #expect(try store.sweepProgress(id: sweep.id).first?.pending == 2)
    }

    @Test(arguments: TestEngine.all) func aSweepIsRemovedWithItsTrialsAndRunsAsItsDryRunSaid(engine: TestEngine) throws {
        // Given a sweep with a run, a fork of that run, and a run of nobody's sweep
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (sweep, run) = try Self.sweepWithOneRun(store, trials: 3)
        let fork = try store.createRun(.sample(parentRunID: run.id, parentEpoch: 2))
        try store.finishRun(id: fork.id, status: .completed)
        let other = try store.createRun(.sample())
        try store.finishRun(id: other.id, status: .completed)

        // When: without --with-forks it is refused, as its dry run is
        let dry = #expect(throws: StoreError.self) {
            try store.removalPlan([], sweeps: [sweep.id], withForks: false)
        }
        let refused = #expect(throws: StoreError.self) {
            try store.removeRuns([], sweeps: [sweep.id], withForks: false)
        }
        #expect(dry?.kind == .hasForks(runID: run.id, forks: [fork.id]))
        #expect(refused?.kind == dry?.kind)

        // When: with them
        let plan = try store.removalPlan([], sweeps: [sweep.id], withForks: true)
        let removal = try store.removeRuns([], sweeps: [sweep.id], withForks: true)

        // Then the sweep, its three trials, its run and the fork went; the other run stayed
        #expect(plan == removal)
        #expect(removal.sweeps == [.init(sweepID: sweep.id, trials: 3)])
        #expect(removal.runs.map(\.runID) == [fork.id, run.id])
        #expect(removal.trialResets.isEmpty)
        #expect(try store.sweepProgress().isEmpty)
        #expect(try store.trials(sweepID: sweep.id).isEmpty)
        #expect(try store.summaries().map(\.run.id) == [other.id])
    }

    @Test(arguments: TestEngine.all) func aSweepIsNotRemovedWhileAWorkerHoldsATrial(engine: TestEngine) throws {
        // Given a sweep whose trial 2 a live worker (this process) has just claimed
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (sweep, _) = try Self.sweepWithOneRun(store)
        _ = try #require(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30))

        // When it is removed, or its dry run asked
        let dry = #expect(throws: StoreError.self) {
            try store.removalPlan([], sweeps: [sweep.id], withForks: false)
        }
        let refused = #expect(throws: StoreError.self) {
            try store.removeRuns([], sweeps: [sweep.id], withForks: false)
        }

        // Then both refuse, naming the worker, and nothing went
        let worker = "\(Lease.hostName):\(getpid())"
        #expect(dry?.kind == .trialsHeld(sweepID: sweep.id, workers: [worker]))
        #expect(refused?.kind == dry?.kind)
        #expect(try store.trials(sweepID: sweep.id).count == 2)
        #expect(try store.sweepProgress(id: sweep.id).first?.running == 1)
    }

    @Test(arguments: TestEngine.all) func anUnknownSweepIsRefused(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))

        let error = #expect(throws: StoreError.self) {
            try store.removeRuns([], sweeps: [7], withForks: false)
        }

        #expect(error?.kind == .notFound)
    }
}
