import Foundation
import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct SQLQueryTests {
    /// A database with one run of two epochs.
    private func storeWithARun(_ directory: TemporaryDirectory) throws -> Store {
        let store = try Store.open(path: directory.path("lab.sqlite"))
        let run = try store.createRun(.sample(name: "baseline"))
        try store.recordEpochs(runID: run.id, 1...2, keepEvery: 1) { 1 / Double($0) }
        return store
    }

    @Test func selectReturnsColumnsAndRows() throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)

        // When
        let result = try store.query(
            "SELECT name, best_epoch, best_val_loss, epochs_done FROM run_summary ORDER BY best_val_loss")

        // Then
        #expect(result.columns == ["name", "best_epoch", "best_val_loss", "epochs_done"])
        #expect(result.rows == [[.text("baseline"), .integer(2), .real(0.5), .integer(2)]])
    }

    @Test func readingPragmasAndBlobsAreAllowed() throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)

        // When
        let columns = try store.query("PRAGMA table_info(runs)")
        let version = try store.query("PRAGMA user_version;")
        let blob = try store.query("SELECT weights FROM checkpoints WHERE epoch = 1")

        // Then
        #expect(columns.rows.count >= 26)
        #expect(version.rows == [[.integer(Int64(Migrations.latestVersion))]])
        #expect(blob.rows == [[.blob([0, 0, 0x80, 0x3F])]])
    }

    @Test func tableValuedPragmaFunctionsAreAllowed() throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)

        // When
        let columns = try store.query("SELECT name FROM pragma_table_info('runs') LIMIT 2")
        let version = try store.query("SELECT user_version FROM pragma_user_version")

        // Then
        #expect(columns.rows == [[.text("id")], [.text("name")]])
        #expect(version.rows == [[.integer(Int64(Migrations.latestVersion))]])
    }

    @Test func writesThatReadAPragmaFunctionAreStillRefused() throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)

        // When
        let update = #expect(throws: StoreError.self) {
            try store.query("UPDATE runs SET name = (SELECT name FROM pragma_table_info('runs'))")
        }
        let create = #expect(throws: StoreError.self) {
            try store.query("CREATE TABLE t AS SELECT * FROM pragma_table_info('runs')")
        }

        // Then
        #expect(update?.kind == .notReadOnly)
        #expect(create?.kind == .notReadOnly)
        #expect(try store.run(id: 1)?.name == "baseline")
    }

    @Test(arguments: [
        ("DELETE FROM runs", "DELETE"),
        ("INSERT INTO schema_migrations VALUES (9, 'x', 'y')", "INSERT"),
        ("UPDATE runs SET name = 'x'", "UPDATE"),
        ("DROP TABLE epochs", "DROP TABLE"),
        ("CREATE TABLE t (x)", "CREATE TABLE"),
        ("CREATE TEMP TABLE t (x)", "CREATE TEMP TABLE"),
        ("ATTACH ':memory:' AS other", "ATTACH"),
        ("PRAGMA writable_schema = 1", "PRAGMA writable_schema = 1"),
        ("PRAGMA user_version = 7", "PRAGMA user_version = 7"),
        ("VACUUM INTO '/tmp/StoreTests-copy.sqlite'", "VACUUM"),
        ("WITH doomed AS (SELECT id FROM runs) DELETE FROM runs WHERE id IN doomed", "DELETE"),
        ("BEGIN", "a transaction"),
    ])
    func writesOfEveryKindAreRefused(sql: String, refused: String) throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)
        let before = fileBytes(store.location)

        // When
        let error = #expect(throws: StoreError.self) { try store.query(sql) }

        // Then
        #expect(error?.kind == .notReadOnly)
        #expect(
            error?.description == "Cannot run SQL on \(store.location): the sql command is read-only: "
                + "\(refused) is not allowed.")
        #expect(fileBytes(store.location) == before)
        #expect(try store.run(id: 1)?.name == "baseline")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/StoreTests-copy.sqlite"))
    }

    @Test func syntaxErrorIsOneLineWithSQLitesMessage() throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)

        // When
        let error = #expect(throws: StoreError.self) { try store.query("SELEC * FROM runs") }

        // Then
        #expect(error?.description == "Cannot run SQL on \(store.location): near \"SELEC\": syntax error")
    }

    /// Counts without end: a statement only its time limit stops.
    static let endless = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c)"

    @Test(arguments: TestEngine.all)
    func aStatementThatRunsPastItsTimeLimitIsStoppedOnEitherEngine(engine: TestEngine) throws {
        // Given a store with a run
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        _ = try store.createRun(.sample(name: "baseline"))

        // When an endless statement runs through sql and through a run search, with 0.5 s
        let viaSQL = #expect(throws: StoreError.self) {
            try store.query("SELECT \(Self.endless) AS n", limits: StatementLimits(seconds: 0.5))
        }
        let viaSearch = #expect(throws: StoreError.self) {
            try store.summaries(RunSearch(expression: "\(Self.endless) > 0"), limits: StatementLimits(seconds: 0.5))
        }

        // Then each is stopped, in the same words on both engines, and the store still reads
        for error in [viaSQL, viaSearch] {
            #expect(error?.kind == .queryTooLong(seconds: 0.5), "\(String(describing: error))")
            #expect(error?.reason == "the statement ran for more than 0.5 s and was stopped.")
        }
        #expect(try store.query("SELECT count(*) AS n FROM runs", limits: StatementLimits(seconds: 0.5)).rows == [[.integer(1)]])
        #expect(try store.summaries(RunSearch(expression: "id = 1")).map(\.run.id) == [1])
    }

    @Test func aStatementMakesNoValueLargerThanItsLimit() throws {
        // Given a store with a run
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)
        let limits = StatementLimits(seconds: 30, valueBytes: 1 << 20)

        // When a search and a statement each make a 100 MB blob under a 1 MiB limit
        let viaSearch = #expect(throws: StoreError.self) {
            try store.summaries(RunSearch(expression: "length(randomblob(100000000)) > 0"), limits: limits)
        }
        let viaSQL = #expect(throws: StoreError.self) {
            try store.query("SELECT length(zeroblob(2000000) || x'00') AS n", limits: limits)
        }

        // Then SQLite refuses to make them, and values within the limit are fine
        #expect(viaSearch?.kind == .badSearch && viaSearch?.reason.contains("too big") == true, "\(String(describing: viaSearch))")
        #expect(viaSQL?.reason.contains("too big") == true, "\(String(describing: viaSQL))")
        #expect(try store.query("SELECT length(randomblob(1000)) AS n", limits: limits).rows == [[.integer(1000)]])
    }

    @Test func onlyOneStatementRuns() throws {
        // Given
        let directory = try TemporaryDirectory()
        let store = try storeWithARun(directory)

        // When
        let two = #expect(throws: StoreError.self) { try store.query("SELECT 1; SELECT 2") }
        let smuggled = #expect(throws: StoreError.self) {
            try store.query("SELECT 1; DELETE FROM runs")
        }

        // Then
        #expect(two?.reason == "the sql command runs one statement; found more than one.")
        #expect(smuggled?.kind == .notReadOnly)
        #expect(try store.run(id: 1) != nil)
    }
}
