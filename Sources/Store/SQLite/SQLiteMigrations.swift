/// The schema's history: every `Migrations/NNNN_name.sql` file, in order, and the small
/// migrator that applies them.
///
/// The SQL files are the only schema source. SwiftPM compiles each one into a byte array
/// (`.embedInCode`), so a copied `mnistlab` binary still migrates; SwiftPM gives no list of
/// them, so the list lives here and `embeddedMigrationsMatchFilesOnDisk` keeps it honest.
///
/// Why not GRDB's `DatabaseMigrator`: it records applied migrations in its own
/// `grdb_migrations(identifier)` table, while `schema_migrations(version, name, applied_at)`
/// is part of our public schema (`mnistlab db status`, `sqlite3` users). Keeping both would
/// mean two logs that can disagree. `migrate` below is the part of `DatabaseMigrator` we need:
/// the pending files in one IMMEDIATE transaction, foreign keys checked before commit, newer schemas
/// refused.
import Foundation
import GRDB

struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: String

    init(_ version: Int, _ name: String, _ bytes: [UInt8]) {
        self.version = version
        self.name = name
        self.sql = String(decoding: bytes, as: UTF8.self)
    }
}

enum Migrations {
    /// Append-only: a new file gets the next number, and committed files never change.
    static let all: [Migration] = [
        Migration(1, "0001_init", PackageResources._001_init_sql),
        Migration(2, "0002_run_summary_view", PackageResources._002_run_summary_view_sql),
        Migration(3, "0003_evaluations", PackageResources._003_evaluations_sql),
        Migration(4, "0004_sweeps", PackageResources._004_sweeps_sql),
        Migration(
            5, "0005_leases_and_run_stats", PackageResources._005_leases_and_run_stats_sql),
        Migration(6, "0006_training_controls", PackageResources._006_training_controls_sql),
        Migration(7, "0007_run_management", PackageResources._007_run_management_sql),
        Migration(8, "0008_trials", PackageResources._008_trials_sql),
        Migration(9, "0009_run_uids", PackageResources._009_run_uids_sql),
        Migration(10, "0010_run_stats_metrics", PackageResources._010_run_stats_metrics_sql),
        Migration(11, "0011_liveness", PackageResources._011_liveness_sql),
        Migration(
            12, "0012_typed_trial_settings", PackageResources._012_typed_trial_settings_sql),
        Migration(13, "0013_trial_jobs", PackageResources._013_trial_jobs_sql),
        Migration(14, "0014_asha_rungs", PackageResources._014_asha_rungs_sql),
        Migration(15, "0015_live_trial_status", PackageResources._015_live_trial_status_sql),
    ]

    /// The schema version this build writes: the last migration's number.
    static var latestVersion: Int { all.last?.version ?? 0 }

    /// Versions recorded in `schema_migrations`, ascending; empty for a new database.
    static func appliedVersions(_ db: Database) throws -> [Int] {
        guard try db.tableExists("schema_migrations") else { return [] }
        return try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version")
    }

    /// The first applied version this build doesn't know, if any: the file was written by a
    /// newer mnistlab.
    static func unknownVersion(in applied: [Int]) -> Int? {
        let known = Set(all.map(\.version))
        return applied.filter { !known.contains($0) }.max()
    }

    /// Applies, in order, every migration up to `target` that isn't recorded yet, all in one
    /// IMMEDIATE transaction: a reader (which never migrates) sees the schema before or after
    /// the whole upgrade, never halfway, and a crash midway leaves the file as it was.
    ///
    /// Safe against a second process migrating at the same time: the log is re-read inside
    /// the transaction, so migrations applied meanwhile are skipped.
    static func migrate(_ writer: DatabaseQueue, upTo target: Int = latestVersion) throws {
        let pending = try writer.read { db in
            let applied = try appliedVersions(db)
            if let newer = unknownVersion(in: applied) {
                throw StoreError.newerSchema(version: newer)
            }
            return all.filter { $0.version <= target && !applied.contains($0.version) }
        }
        guard !pending.isEmpty else { return }
        try writer.writeWithoutTransaction { db in
            // Like DatabaseMigrator: a future migration may rebuild a table (create new,
            // copy, drop old, rename), which foreign keys would block midway. They are
            // off during the transaction and checked as a whole before it commits.
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            try db.inTransaction(.immediate) {
                // Another process may have migrated since the read above, and GRDB caches
                // what it knew of the schema then ("no schema_migrations table"): forget it,
                // so the check below sees that process's work and skips it.
                db.clearSchemaCache()
                let applied = try appliedVersions(db)
                for migration in pending where !applied.contains(migration.version) {
                    try db.execute(sql: migration.sql)
                    try db.execute(
                        sql: """
                            INSERT INTO schema_migrations (version, name, applied_at)
                            VALUES (?, ?, \(SQLiteEngine.clock.now))
                            """,
                        arguments: [migration.version, migration.name])
                    // Mirrors the schema version where `sqlite3 x.sqlite 'PRAGMA user_version'`
                    // shows it. PRAGMA can't bind; the value is our own integer.
                    try db.execute(sql: "PRAGMA user_version = \(migration.version)")
                    db.clearSchemaCache()
                }
                try db.checkForeignKeys()
                return .commit
            }
        }
    }
}
