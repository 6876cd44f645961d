import Foundation
import TestSupport
import Testing

@testable import Store

/// `importRuns`: every run of another store copied with all it recorded, lineage kept under
/// new ids, nothing twice, between any two engines.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ImportTests {
    /// Every (source, target) pair of the engines under test.
    static let pairs: [(TestEngine, TestEngine)] = TestEngine.all.flatMap { source in
        TestEngine.all.map { (source, $0) }
    }

    @Test(arguments: pairs)
    func runsArriveWholeWithTheirLineageAndOnlyOnce(source: TestEngine, target: TestEngine) throws {
        // Given: a source with a run, a fork of it (tagged, noted, evaluated) and a sweep's
        // run; a target that already has a run of its own
        let directory = try TemporaryDirectory(source)
        let from = try Store.open(location: try directory.location("source"))
        let sweep = try from.createSweep(grid: "{}") { id in [#"{"sweep": \#(id), "seed": 1}"#] }
        let claim = try #require(try from.claimTrial(sweepID: sweep.id, leaseSeconds: 30))
        let parent = try from.createRun(.sample(momentum: 0.9, keepEvery: 1))
        for epoch in 1...3 {
            try from.recordEpoch(
                .sample(runID: parent.id, epoch: epoch, valLoss: 1 / Double(epoch)),
                checkpoint: CheckpointRecord(
                    runID: parent.id, epoch: epoch, weights: [1, 2, Float(epoch)],
                    velocity: [0.5, 0.25, Float(epoch)]),
                keepEvery: 1)
        }
        try from.finishRun(id: parent.id, status: .completed)
        let fork = try from.createRun(.sample(name: "fork", parentRunID: parent.id, parentEpoch: 2))
        try from.recordEpochs(runID: fork.id, 3...4, keepEvery: 1)
        try from.finishRun(id: fork.id, status: .completed)
        try from.tagRuns([fork.id], with: ["b", "a"])
        try from.setNote(runID: fork.id, "why")
        try from.recordEvaluation(
            EvaluationRecord(
                runID: fork.id, epoch: 4, datasetChecksum: "crc32:1", testSize: 10,
                testLoss: 0.3, testAccuracy: 0.9,
                confusion: (0..<10).map { t in (0..<10).map { $0 == t ? 1 : 0 } }))
        var swept = NewRun.sample(name: "trial")
        swept.sweepID = sweep.id
        let (trialRun, trialLease) = try from.createRun(swept, leaseSeconds: 30, for: claim)
        try from.finishRun(trialLease, status: .completed)
        try from.finishTrial(claim, status: .completed)

        let there = try TemporaryDirectory(target)
        let into = try Store.open(location: try there.location("target"))
        let own = try into.createRun(.sample(name: "own"))
        try into.finishRun(id: own.id, status: .completed)

        // When: imported twice
        let first = try into.importRuns(from: from)
        let second = try into.importRuns(from: from)

        // Then: three runs with new ids, the fork's parent mapped, everything recorded alike
        #expect(first.runs.count == 3)
        #expect(first.sweeps.count == 1)
        #expect(first.epochs == 5)
        #expect(first.evaluations == 1)
        #expect(second.runs.isEmpty && second.sweeps.isEmpty && second.alreadyPresent == 3)
        let newParent = try #require(first.runs[parent.id])
        let newFork = try #require(first.runs[fork.id])
        #expect(newParent != parent.id)
        let copiedFork = try #require(try into.summary(runID: newFork))
        let sourceFork = try #require(try from.summary(runID: fork.id))
        #expect(copiedFork.run.parentRunID == newParent)
        #expect(copiedFork.run.uid == sourceFork.run.uid)
        #expect(copiedFork.tags == ["a", "b"])
        #expect(copiedFork.run.note == "why")
        #expect(copiedFork.bestEpoch == sourceFork.bestEpoch)
        // And every run's figures are the source's: epochs, best, last, totals
        for (old, new) in first.runs {
            var copied = try #require(try into.summary(runID: new))
            let original = try #require(try from.summary(runID: old))
            copied.run = original.run
            #expect(copied == original, "run \(old) → \(new)")
        }
        #expect(try into.epochs(runID: newFork) == from.epochs(runID: fork.id).map {
            var epoch = $0
            epoch.runID = newFork
            return epoch
        })
        #expect(try into.checkpoint(runID: newParent, epoch: 2)?.velocity == [0.5, 0.25, 2])
        #expect(
            try into.checkpointEpochs(runID: newParent) == from.checkpointEpochs(runID: parent.id))
        #expect(try into.evaluations(runID: newFork).first?.confusion[3][3] == 1)
        let newSweep = try #require(first.sweeps[sweep.id])
        #expect(try into.summaries(sweepID: newSweep).map(\.run.id) == [first.runs[trialRun.id]])
        #expect(try into.trials(sweepID: newSweep).map(\.runID) == [first.runs[trialRun.id]])
        #expect(try into.summaries().count == 4)
        try expectConsistent(into)
    }

    @Test(arguments: TestEngine.all) func aLiveRunIsLeftForALaterImport(engine: TestEngine) throws {
        // Given: a source whose only run is still held by its trainer
        let directory = try TemporaryDirectory(engine)
        let from = try Store.open(location: try directory.location("source"))
        let live = try from.createRun(.sample())
        let into = try Store.open(location: try directory.location("target"))

        // When: imported while it trains, then after it finished
        let during = try into.importRuns(from: from)
        try from.finishRun(id: live.id, status: .completed)
        let after = try into.importRuns(from: from)

        // Then: skipped, then copied
        #expect(during.skippedLive == [live.id] && during.runs.isEmpty)
        #expect(after.runs.count == 1)
        #expect(try into.summaries().map(\.run.status) == [.completed])
    }
}

// MARK: - Runs already here

extension ImportTests {
    @Test(arguments: pairs)
    func aRunImportedMidwayIsBroughtUpToDateByTheNextImport(source: TestEngine, target: TestEngine) throws {
        // Given: a run imported while interrupted after 3 of 6 epochs
        let directory = try TemporaryDirectory(source)
        let from = try Store.open(location: try directory.location("source"))
        let run = try from.createRun(.sample(keepEvery: 2))
        try from.recordEpochs(runID: run.id, 1...3, keepEvery: 2)
        try from.finishRun(id: run.id, status: .interrupted)
        let there = try TemporaryDirectory(target)
        let into = try Store.open(location: try there.location("target"))
        let first = try into.importRuns(from: from)
        let id = try #require(first.runs[run.id])

        // When: it finished in the source, was evaluated, tagged and noted there, and is
        // imported again
        let (_, lease) = try from.claimRun(
            id: run.id, update: RunUpdate(epochs: 6, keepEvery: 2, datasetPath: "Data/mnist"),
            leaseSeconds: 30)
        for epoch in 4...6 {
            try from.recordEpoch(
                .sample(runID: run.id, epoch: epoch),
                checkpoint: CheckpointRecord(runID: run.id, epoch: epoch, weights: [Float(epoch)]),
                keepEvery: 2, lease: lease)
        }
        try from.finishRun(lease, status: .completed)
        try from.recordEvaluation(
            EvaluationRecord(
                runID: run.id, epoch: 6, datasetChecksum: "crc32:1", testSize: 10,
                testLoss: 0.3, testAccuracy: 0.9,
                confusion: (0..<10).map { t in (0..<10).map { $0 == t ? 1 : 0 } }))
        try from.tagRuns([run.id], with: ["done"])
        try from.setNote(runID: run.id, "finished")
        let second = try into.importRuns(from: from)
        let third = try into.importRuns(from: from)

        // Then: the run here is the source's, epoch for epoch, with its new checkpoints,
        // status, evaluation, tag and note; a third import has nothing to do
        #expect(second.updated == [run.id: id] && second.runs.isEmpty)
        #expect(second.epochs == 3 && second.evaluations == 1)
        #expect(third.updated.isEmpty && third.alreadyPresent == 1)
        let here = try #require(try into.summary(runID: id))
        let theirs = try #require(try from.summary(runID: run.id))
        #expect(here.run.status == .completed && here.lastEpoch == 6 && here.run.epochs == 6)
        #expect(here.bestEpoch == theirs.bestEpoch && here.lastValLoss == theirs.lastValLoss)
        #expect(here.tags == ["done"] && here.run.note == "finished")
        #expect(try into.epochs(runID: id).map(\.epoch) == Array(1...6))
        #expect(try into.checkpointEpochs(runID: id) == from.checkpointEpochs(runID: run.id))
        #expect(try into.evaluations(runID: id).map(\.epoch) == [6])
    }

    @Test(arguments: pairs)
    func aRunThatMovedOnInBothStoresIsRefusedAndTheOthersStillImport(source: TestEngine, target: TestEngine) throws {
        // Given: two runs imported after 2 epochs each
        let directory = try TemporaryDirectory(source)
        let from = try Store.open(location: try directory.location("source"))
        let both = try from.createRun(.sample())
        try from.recordEpochs(runID: both.id, 1...2, keepEvery: 50)
        try from.finishRun(id: both.id, status: .interrupted)
        let onlyThere = try from.createRun(.sample())
        try from.recordEpochs(runID: onlyThere.id, 1...2, keepEvery: 50)
        try from.finishRun(id: onlyThere.id, status: .interrupted)
        let onlyHere = try from.createRun(.sample())
        try from.recordEpochs(runID: onlyHere.id, 1...2, keepEvery: 50)
        try from.finishRun(id: onlyHere.id, status: .interrupted)
        let there = try TemporaryDirectory(target)
        let into = try Store.open(location: try there.location("target"))
        let ids = try into.importRuns(from: from).runs

        // When: the first trains on in both stores, the second only in the source, the
        // third only here
        let update = RunUpdate(epochs: 10, keepEvery: 50, datasetPath: "Data/mnist")
        for (store, id, valLoss) in [
            (from, both.id, 0.4), (into, try #require(ids[both.id]), 0.3),
            (into, try #require(ids[onlyHere.id]), 0.3),
        ] {
            let (_, lease) = try store.claimRun(id: id, update: update, leaseSeconds: 30)
            try store.recordEpoch(
                .sample(runID: id, epoch: 3, valLoss: valLoss),
                checkpoint: CheckpointRecord(runID: id, epoch: 3, weights: [3]), keepEvery: 50,
                lease: lease)
            try store.finishRun(lease, status: .interrupted)
        }
        let (_, lease) = try from.claimRun(id: onlyThere.id, update: update, leaseSeconds: 30)
        try from.recordEpoch(
            .sample(runID: onlyThere.id, epoch: 3),
            checkpoint: CheckpointRecord(runID: onlyThere.id, epoch: 3, weights: [3]),
            keepEvery: 50, lease: lease)
        try from.finishRun(lease, status: .interrupted)
        let again = try into.importRuns(from: from)

        // Then: the first is refused with what differs and left as it is here; the second
        // is brought up to date; the third, ahead here, is left as it is
        let here = try #require(ids[both.id])
        #expect(
            again.diverged == [
                Divergence(sourceID: both.id, id: here, reason: "epoch 3 was recorded otherwise here (val_loss)")
            ])
        #expect(try into.epoch(runID: here, epoch: 3)?.valLoss == 0.3)
        #expect(again.updated == [onlyThere.id: try #require(ids[onlyThere.id])])
        #expect(try into.summary(runID: try #require(ids[onlyThere.id]))?.lastEpoch == 3)
        #expect(again.alreadyPresent == 1)
        #expect(try into.summary(runID: try #require(ids[onlyHere.id]))?.lastEpoch == 3)
    }

    @Test(arguments: pairs)
    func anAshaSweepArrivesWithItsTrialsStatesAndRungsAndFollowsTheSource(source: TestEngine, target: TestEngine) throws {
        // Given: an ASHA sweep (rungs at 1, 3, 9) whose trial 1 was promoted from rung 0 and
        // paused at rung 1 by a Slurm job's worker, trial 2 paused at rung 0, trial 3 pending
        let directory = try TemporaryDirectory(source)
        let from = try Store.open(location: try directory.location("source"))
        let sweep = try from.createSweep(
            grid: "{}", search: SweepSearch(epochs: 9, minEpochs: 1, reductionFactor: 3)
        ) { id in (1...3).map { #"{"sweep": \#(id), "seed": \#($0)}"# } }
        /// Claims with `job`, trains the run (new, or the trial's) through `epochs` and
        /// settles the trial at `rung`.
        func leg(_ job: SweepJob, epochs: ClosedRange<Int>, rung: Int, valLoss: Double) throws {
            let claim = try #require(try from.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { _ in job })
            let lease: Lease
            if let runID = claim.trial.runID {
                lease = try from.claimRun(
                    id: runID, update: RunUpdate(epochs: 9, keepEvery: 50, datasetPath: "Data/mnist"),
                    leaseSeconds: 30
                ).1
            } else {
                var new = NewRun.sample()
                new.sweepID = sweep.id
                new.epochs = 9
                lease = try from.createRun(new, leaseSeconds: 30, for: claim).1
            }
            for epoch in epochs {
                try from.recordEpoch(
                    .sample(runID: lease.runID, epoch: epoch, valLoss: valLoss),
                    checkpoint: CheckpointRecord(runID: lease.runID, epoch: epoch, weights: [Float(epoch)]),
                    keepEvery: 50, lease: lease)
            }
            try from.finishRun(lease, status: epochs.upperBound == 9 ? .completed : .interrupted)
            try from.reachRung(claim, rung: rung, epoch: epochs.upperBound, last: rung == 2)
        }
        let ids = try #require(try from.sweepState(id: sweep.id)).trials.map(\.id)
        try leg(.start(trialID: ids[0]), epochs: 1...1, rung: 0, valLoss: 0.2)
        try leg(.start(trialID: ids[1]), epochs: 1...1, rung: 0, valLoss: 0.3)
        try leg(.promote(trialID: ids[0], fromRung: 0), epochs: 2...3, rung: 1, valLoss: 0.1)
        _ = try from.write { db in
            try db.execute(
                "UPDATE trials SET job_id = 41, array_job_id = 40, array_task_id = 1, node = 'n1' WHERE id = ?",
                [ids[0].sqlValue])
        }
        let there = try TemporaryDirectory(target)
        let into = try Store.open(location: try there.location("target"))

        // When: imported
        let first = try into.importRuns(from: from)

        // Then: every trial stands here as there, with the rungs it reached and its promotion
        #expect(first.sweeps.count == 1 && first.runs.count == 2)
        let here = try #require(first.sweeps[sweep.id])
        #expect(try Self.trialsAndRungs(into, sweepID: here) == Self.trialsAndRungs(from, sweepID: sweep.id))
        #expect(try Self.trialsAndRungs(into, sweepID: here).rungs.count == 3)

        // When: the source goes on (trial 1 promoted to the top and completed, the sweep
        // over, trial 2 pruned) and is imported again
        try leg(.promote(trialID: ids[0], fromRung: 1), epochs: 4...9, rung: 2, valLoss: 0.05)
        _ = try from.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { _ in .finish(pruned: [ids[1]]) }
        let second = try into.importRuns(from: from)
        let third = try into.importRuns(from: from)

        // Then: here follows, each promotion recorded once; a third import changes nothing
        #expect(second.updated.count == 1 && second.sweeps.isEmpty)
        let now = try Self.trialsAndRungs(into, sweepID: here)
        #expect(now == (try Self.trialsAndRungs(from, sweepID: sweep.id)))
        #expect(now.trials.map { $0.split(separator: "|")[1] } == ["completed", "pruned", "pending"])
        #expect(now.rungs.count == 4)
        #expect(third.updated.isEmpty && third.alreadyPresent == 2)
        #expect(try Self.trialsAndRungs(into, sweepID: here) == now)
    }

    /// A sweep's trials (number, state, rung, attempts, batch job, run's uid) and rungs
    /// (number, rung, epoch, loss, when reached and promoted), as text that compares across
    /// stores.
    static func trialsAndRungs(_ store: Store, sweepID: Int64) throws -> (trials: [String], rungs: [String]) {
        try store.read { db in
            let trials = try db.fetch(
                """
                SELECT t.number, t.status, t.rung, t.attempts, t.failure_reason, t.job_id,
                    t.array_job_id, t.array_task_id, t.node, r.uid
                FROM trials AS t LEFT JOIN runs AS r ON r.id = t.run_id
                WHERE t.sweep_id = ? ORDER BY t.number
                """, [sweepID.sqlValue]
            ).map { row in row.columns.names.map { "\(row[$0])" }.joined(separator: "|") }
            let rungs = try db.fetch(
                """
                SELECT t.number, g.rung, g.epoch, g.val_loss, g.reached_at, g.promoted_at
                FROM trial_rungs AS g JOIN trials AS t ON t.id = g.trial_id
                WHERE t.sweep_id = ? ORDER BY t.number, g.rung
                """, [sweepID.sqlValue]
            ).map { row in row.columns.names.map { "\(row[$0])" }.joined(separator: "|") }
            return (trials, rungs)
        }
    }
}
