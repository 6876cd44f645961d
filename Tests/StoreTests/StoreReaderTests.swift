import Foundation
import TestSupport
import Testing

@testable import Store

/// How a long-lived reader (the dashboard) reads a store and tells that it changed.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct StoreReaderTests {
    @Test(arguments: TestEngine.all) func aChangeWatchSeesEveryCommitAndNothingElse(engine: TestEngine) throws {
        // Given a store with a run, and a reader watching it
        let directory = try TemporaryDirectory(engine)
        let location = try directory.location("lab.sqlite")
        let store = try Store.open(location: location)
        let run = try store.createRun(.sample())
        let reader = StoreReader(location: location)
        var watch = ChangeWatch()
        #expect(try watch.changed(in: reader), "the first look always says changed")

        // When nothing is written, reads included, it says nothing changed (on SQLite: a
        // PostgreSQL server's transaction ids also move for the other databases the tests
        // write beside, and a look may say "changed" when nothing was, never the reverse)
        _ = try reader.read { try $0.summaries() }
        let quiet = try watch.changed(in: reader)
        #expect(engine == .postgres || !quiet)

        // When an epoch commits, it says so
        try store.recordEpoch(.sample(runID: run.id, epoch: 1), checkpoint: nil, keepEvery: 50)
        #expect(try watch.changed(in: reader))
        let after = try watch.changed(in: reader)
        #expect(engine == .postgres || !after)
        #expect(try reader.read { try $0.epochs(runID: run.id).count } == 1)
    }

    @Test func aReaderOfAMissingFileFailsAsTheStoreDoes() throws {
        let directory = try TemporaryDirectory(.sqlite)
        let reader = StoreReader(location: directory.path("none.sqlite"))
        #expect(throws: StoreError.self) { try reader.read { try $0.summaries() } }
    }
}
