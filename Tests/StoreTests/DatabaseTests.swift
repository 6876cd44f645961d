import Foundation
import GRDB
import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct DatabaseTests {
    // MARK: - Refusals leave the file byte-identical

    @Test func newerSchemaIsRefusedAndFileUntouched() throws {
        // Given: a database that a future mnistlab migrated to schema 99
        let directory = try TemporaryDirectory()
        let path = directory.path("future.sqlite")
        _ = try Store.open(path: path)
        try rawDatabase(path).write { db in
            try db.execute(
                sql: "INSERT INTO schema_migrations VALUES (99, '0099_future', '2027-01-01T00:00:00.000Z')")
        }
        let before = fileBytes(path)

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path) }

        // Then
        #expect(error?.kind == .newerSchema(found: 99, known: Migrations.latestVersion))
        #expect(
            error?.description == "Cannot open database at \(path): it was written by a newer "
                + "mnistlab (schema 99; this build knows \(Migrations.latestVersion)).")
        #expect(fileBytes(path) == before)
        #expect(throws: StoreError.self) { try Store.open(path: path, readOnly: true) }
        #expect(fileBytes(path) == before)
    }

    @Test func nonSQLiteFileIsRefusedAndUntouched() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("notes.sqlite")
        try Data("these are my notes, not a database\n".utf8).write(to: URL(fileURLWithPath: path))
        let before = fileBytes(path)

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path) }

        // Then
        #expect(
            error?.description == "Cannot open database at \(path): the file is not a database "
                + "(not SQLite).")
        #expect(fileBytes(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func sqliteFileOfAnotherApplicationIsRefusedAndUntouched() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("other.sqlite")
        try rawDatabase(path).write { db in
            try db.execute(sql: "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ada')")
        }
        let before = fileBytes(path)

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path) }

        // Then
        #expect(error?.kind == .notOurDatabase)
        #expect(error?.description.contains("SQLite database of another application") == true)
        #expect(fileBytes(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func directoryIsRefused() throws {
        // Given
        let directory = try TemporaryDirectory()

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: directory.url.path) }

        // Then
        #expect(error?.kind == .notOurDatabase)
        #expect(error?.description.hasPrefix("Cannot open database at \(directory.url.path): ") == true)
    }

    @Test(.enabled(if: geteuid() != 0, "root can write read-only files"))
    func readOnlyFileIsRefusedForWriting() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        _ = try Store.open(path: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        let before = fileBytes(path)

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path) }

        // Then
        #expect(error?.kind == .notWritable)
        #expect(fileBytes(path) == before)
    }

    // MARK: - New files

    @Test func emptyFileCountsAsNew() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("empty.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))

        // When
        let store = try Store.open(path: path)

        // Then
        #expect(try store.status().schemaVersion == Migrations.latestVersion)
    }

    @Test func missingDirectoryIsRefused() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("nowhere/lab.sqlite")

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path) }

        // Then
        #expect(error?.description.contains("does not exist") == true)
    }

    // MARK: - Read-only opens

    @Test func readOnlyOpenNeverCreatesAFile() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("absent.sqlite")

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path, readOnly: true) }

        // Then
        #expect(error?.kind == .missing)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func readOnlyOpenOfAnOlderSchemaIsRefusedWithoutMigrating() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        try Migrations.migrate(try rawDatabase(path), upTo: 1)
        let before = fileBytes(path)

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path, readOnly: true) }
        let status = try Store.open(path: path, readOnly: true, allowOlderSchema: true).status()

        // Then: refused, except for reading its status, which reports the old schema
        #expect(error?.kind == .olderSchema(found: 1, known: Migrations.latestVersion))
        #expect(status.schemaVersion == 1)
        #expect(fileBytes(path) == before)
    }

    @Test func readOnlyOpenOfAnEmptyFileLeavesItEmpty() throws {
        // Given: a 0-byte file, as `touch` makes
        let directory = try TemporaryDirectory()
        let path = directory.path("empty.sqlite")
        _ = FileManager.default.createFile(atPath: path, contents: nil)

        // When
        let error = #expect(throws: StoreError.self) { try Store.open(path: path, readOnly: true) }

        // Then
        #expect(error?.kind == .missing)
        #expect(fileBytes(path)?.isEmpty == true)
    }

    @Test func emptyPathIsRefused() throws {
        let error = #expect(throws: StoreError.self) { try Store.open(path: "") }
        #expect(error?.kind == .emptyPath)
    }

    @Test func pathEndingWithASlashIsRefusedAndNothingCreated() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("sub") + "/"
        let error = #expect(throws: StoreError.self) { try Store.open(path: path) }
        #expect(error?.kind == .notOurDatabase)
        #expect(!FileManager.default.fileExists(atPath: directory.path("sub")))
    }

    @Test func oneCharacterFileNameInTheCurrentDirectoryOpens() throws {
        // A bare name's directory is "." (Foundation's deletingLastPathComponent traps on it).
        #expect(SQLiteEngine.directoryOf("b") == ".")
        #expect(SQLiteEngine.directoryOf("/b") == "/")
        #expect(SQLiteEngine.directoryOf("a/b") == "a")
    }

    @Test func readOnlyStoreReadsButRefusesWrites() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let run = try Store.open(path: path).createRun(.sample())

        // When
        let store = try Store.open(path: path, readOnly: true)

        // Then
        #expect(try store.run(id: run.id) == run)
        let error = #expect(throws: StoreError.self) { try store.createRun(.sample()) }
        #expect(error?.description.hasPrefix("Cannot create run in \(path): ") == true)
    }

    // MARK: - Concurrency

    @Test func twoProcessesWritingOneFileBothSucceed() async throws {
        // Given: two Stores (two connections, as two processes would have) on one file
        let directory = try TemporaryDirectory()
        let path = directory.path("shared.sqlite")
        let stores = try [Store.open(path: path), Store.open(path: path)]
        let epochsPerRun = 20

        // When: each creates runs and records epochs, interleaved, from its own thread
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores {
                group.addTask {
                    for _ in 0..<3 {
                        let run = try store.createRun(.sample())
                        try store.recordEpochs(runID: run.id, 1...epochsPerRun, keepEvery: 5)
                    }
                }
            }
            try await group.waitForAll()
        }

        // Then
        let status = try stores[0].status()
        #expect(status.runCount == 6)
        #expect(status.epochCount == 6 * epochsPerRun)
        #expect(try stores[1].summaries().allSatisfy { $0.epochsDone == epochsPerRun })
    }
}
