import Foundation
import Testing

@testable import Store

/// `importRuns`: every run of another store copied with all it recorded, lineage kept under
/// new ids, nothing twice, between any two engines.
@Suite struct ImportTests {
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
