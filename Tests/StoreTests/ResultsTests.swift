import Foundation
import TestSupport
import Testing

@testable import Store

/// Evaluations and sweeps: Results.swift.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ResultsTests {
    func storeWithARun(_ engine: TestEngine) throws -> (TemporaryDirectory, Store, Run) {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())
        try store.recordEpochs(runID: run.id, 1...2, keepEvery: 1)
        return (directory, store, run)
    }

    func evaluation(_ runID: Int64, epoch: Int, diagonal: Int) -> EvaluationRecord {
        var matrix = [[Int]](repeating: [Int](repeating: 1, count: 10), count: 10)
        for k in 0..<10 { matrix[k][k] = diagonal }
        return EvaluationRecord(
            runID: runID, epoch: epoch, datasetChecksum: "crc32:1", testSize: 100 + 10 * diagonal - 10,
            testLoss: 0.3, testAccuracy: Double(diagonal) / Double(diagonal + 9), confusion: matrix)
    }

    @Test(arguments: TestEngine.all) func evaluationRoundTripsAndReplaces(engine: TestEngine) throws {
        // Given a run with two epochs
        let (_, store, run) = try storeWithARun(engine)

        // When epoch 2 is evaluated twice and epoch 1 once
        try store.recordEvaluation(evaluation(run.id, epoch: 2, diagonal: 5))
        try store.recordEvaluation(evaluation(run.id, epoch: 1, diagonal: 3))
        try store.recordEvaluation(evaluation(run.id, epoch: 2, diagonal: 9))

        // Then each epoch has its latest evaluation and 100 cells
        let stored = try store.evaluations(runID: run.id)
        #expect(stored.map(\.epoch) == [1, 2])
        #expect(stored[1].confusion[4][4] == 9 && stored[1].confusion[4][5] == 1)
        #expect(stored[1].evaluatedAt?.hasSuffix("Z") == true)
        #expect(stored[1].classAccuracy[0] == 9.0 / 18.0)
        let cells: Int? = try store.read { db in try db.scalar("SELECT count(*) FROM confusion") }
        #expect(cells == 200)
    }

    @Test(arguments: TestEngine.all) func evaluationNeedsARecordedEpochAndA10x10Matrix(engine: TestEngine) throws {
        let (_, store, run) = try storeWithARun(engine)
        #expect(throws: StoreError.self) { try store.recordEvaluation(evaluation(run.id, epoch: 3, diagonal: 1)) }
        var small = evaluation(run.id, epoch: 1, diagonal: 1)
        small.confusion.removeLast()
        #expect(throws: StoreError.self) { try store.recordEvaluation(small) }
    }

    @Test(arguments: TestEngine.all) func evaluationsOutliveCheckpointPruning(engine: TestEngine) throws {
        // Given an evaluation of epoch 1, whose checkpoint is then pruned
        let (_, store, run) = try storeWithARun(engine)
        try store.recordEvaluation(evaluation(run.id, epoch: 1, diagonal: 2))
        try store.recordEpochs(runID: run.id, 3...4, keepEvery: 50) { 1 / Double($0) }

        // Then the evaluation stays
        #expect(try !store.checkpointEpochs(runID: run.id).contains(1))
        #expect(try store.evaluations(runID: run.id).map(\.epoch) == [1])
    }

    @Test(arguments: TestEngine.all) func sweepTagsRunsAndRanksThem(engine: TestEngine) throws {
        // Given a sweep with two runs, the second better
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try store.createSweep(grid: #"{"learning_rate":[0.1,0.2]}"#) { _ in
            [#"{"learning_rate": 0.1}"#, #"{"learning_rate": 0.2}"#]
        }
        var new = NewRun.sample()
        new.sweepID = sweep.id
        let first = try store.createRun(new)
        let second = try store.createRun(new)
        _ = try store.createRun(.sample())
        try store.recordEpochs(runID: first.id, 1...1, keepEvery: 1) { _ in 0.9 }
        try store.recordEpochs(runID: second.id, 1...1, keepEvery: 1) { _ in 0.4 }

        // Then the sweep's summaries are its runs, best first
        #expect(try store.summaries(sweepID: sweep.id).map(\.run.id) == [second.id, first.id])
        #expect(try store.sweep(id: sweep.id)?.size == 2)

        // And a run can't name a sweep that doesn't exist
        new.sweepID = 99
        #expect(throws: StoreError.self) { try store.createRun(new) }
    }
}
