import Foundation
import GRDB
import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct MigrationsTests {
    @Test func migrationsApplyAndAreRecorded() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")

        // When
        let store = try Store.open(path: path)

        // Then
        let status = try store.status()
        #expect(status.migrations.map(\.version) == Array(1...15))
        #expect(
            status.migrations.map(\.name) == [
                "0001_init", "0002_run_summary_view", "0003_evaluations", "0004_sweeps",
                "0005_leases_and_run_stats", "0006_training_controls", "0007_run_management",
                "0008_trials", "0009_run_uids", "0010_run_stats_metrics", "0011_liveness",
                "0012_typed_trial_settings", "0013_trial_jobs", "0014_asha_rungs",
                "0015_live_trial_status",
            ])
        #expect(status.schemaVersion == Migrations.latestVersion)
        #expect(status.migrations.allSatisfy { $0.appliedAt.hasSuffix("Z") })
        let header = try store.writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT * FROM pragma_application_id, pragma_user_version, pragma_journal_mode")
        }
        #expect(header?["application_id"] == 0x4D4E_5354)
        #expect(header?["user_version"] == Migrations.latestVersion)
        #expect(header?["journal_mode"] == "wal")
    }

    @Test func embeddedMigrationsMatchFilesOnDisk() throws {
        // Given: Migrations/ at the repository root, found from this file's location
        let onDisk = try migrationFiles(in: "Migrations", ending: ".sql")

        // Then: same files, same order, same text, numbered 1, 2, 3… without gaps
        #expect(Migrations.all.map(\.name) == onDisk.map(\.name))
        #expect(Migrations.all.map(\.sql) == onDisk.map(\.sql))
        #expect(Migrations.all.map(\.version) == Array(1...onDisk.count))
        for migration in Migrations.all {
            #expect(migration.name.hasPrefix(String(format: "%04d_", migration.version)))
            #expect(migration.sql.hasPrefix("-- \(migration.name).sql: "))
            #expect(migration.sql.contains("-- 2026-"), "\(migration.name) header has no date")
        }
    }

    @Test func embeddedPostgresMigrationsMatchFilesOnDisk() throws {
        // Given: Migrations/postgres/ at the repository root
        let onDisk = try migrationFiles(in: "Migrations/postgres", ending: ".pg.sql")

        // Then: same files, same order, same text, numbered without gaps, each splitting
        // into statements
        #expect(PostgresMigrations.all.map(\.name) == onDisk.map(\.name))
        #expect(PostgresMigrations.all.map(\.sql) == onDisk.map(\.sql))
        #expect(PostgresMigrations.all.map(\.version) == Array(1...onDisk.count))
        for migration in PostgresMigrations.all {
            #expect(migration.sql.hasPrefix("-- \(migration.name).pg.sql: "))
            #expect(!PostgresSQLText.statements(migration.sql).isEmpty)
        }
        // And: the same numbers and names as SQLite's, so one schema version means the same
        // public schema on either engine
        #expect(PostgresMigrations.all.map(\.version) == Migrations.all.map(\.version))
        #expect(PostgresMigrations.all.map(\.name) == Migrations.all.map(\.name))
    }

    /// The files of `folder` (from the repository root) whose names end in `suffix`, in
    /// order, as (name without the suffix, text).
    private func migrationFiles(in folder: String, ending suffix: String) throws
        -> [(name: String, sql: String)]
    {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(suffix) && !$0.dropLast(suffix.count).contains(".") }.sorted()
            .map { file in
                (
                    name: String(file.dropLast(suffix.count)),
                    sql: try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                )
            }
    }

    @Test func databaseFromAnEarlierMigrationSetIsMigrated() throws {
        // Given: a file that only has 0001, with a run in it
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        try writeOldDatabase(path, schema: 1)

        // When
        let store = try Store.open(path: path)

        // Then
        #expect(try store.status().migrations.map(\.version) == Array(1...Migrations.latestVersion))
        #expect(try store.summary(runID: 1)?.epochsDone == 0)
        #expect(try store.summary(runID: 1)?.run.name == "old")
        #expect(try store.summary(runID: 1)?.run.sweepID == nil)
    }

    @Test func reopeningDoesNotReapplyMigrations() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let first = try Store.open(path: path).status().migrations

        // When
        let second = try Store.open(path: path).status().migrations

        // Then
        #expect(second == first)
    }
}
