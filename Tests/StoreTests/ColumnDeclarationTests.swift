import Foundation
import TestSupport
import Testing

@testable import Store

/// Each column is declared once in Swift, in its record's `CodingKeys`/`Column` enum, from
/// which the INSERT lists (`insert(_:into:)`), the SELECT list of listings and the decoding
/// (`SQLRow.decode`, by position) derive. These tests hold those declarations to the schema the
/// migrations made, on every engine, and to each other.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ColumnDeclarationTests {
    /// The columns of `relation`, in order, as the store's own read-only query returns them.
    private func columns(_ relation: String, _ store: Store) throws -> [String] {
        try store.query("SELECT * FROM \(relation) LIMIT 0").columns
    }

    @Test(arguments: TestEngine.all) func declaredColumnsAreTheTablesAndViews(engine: TestEngine) throws {
        // Given a new store
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let runColumns = Run.CodingKeys.allCases.map(\.stringValue)

        // Then `runs` and `epochs` have exactly their records' columns, in order
        #expect(try columns("runs", store) == runColumns)
        #expect(try columns("epochs", store) == EpochRecord.CodingKeys.allCases.map(\.stringValue))
        // And run_summary is the run's columns and RunSummary's own, each once (in the order
        // the migrations added them: reading is by name, found once per result)
        let view = try columns("run_summary", store)
        let declared = runColumns + RunSummary.Column.allCases.filter { $0 != .run }.map(\.stringValue)
        #expect(view.sorted() == declared.sorted())
        #expect(Set(view).count == view.count)
        // And a listing selects only columns the view has
        #expect(RunListing.CodingKeys.allCases.map(\.stringValue).filter { !view.contains($0) } == [])
    }

    @Test(arguments: TestEngine.all) func everyRunColumnIsWrittenAndReadBack(engine: TestEngine) throws {
        // Given a new run whose settings all differ from their defaults
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        var new = NewRun.sample(name: "every-column", momentum: 0.9, keepEvery: 7)
        new.patience = 3
        new.minDelta = 0.01
        new.lrSchedule = "cosine"
        new.minLearningRate = 0.001
        new.weightDecay = 0.0005

        // When it is created and read back
        let created = try store.createRun(new)
        let read = try #require(try store.run(id: created.id))

        // Then every column came back as written: none is left out of the INSERT or of the
        // reading by position (a property with a default would otherwise keep it silently)
        #expect(read == created)
        #expect(read.weightDecay == 0.0005 && read.patience == 3 && read.lrSchedule == "cosine")
        #expect(read.uid != nil && read.ownerToken != nil && read.leaseExpiresAt != nil)
    }
}
