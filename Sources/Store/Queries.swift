/// Store's reads: named queries. Anything a user might also type in `sqlite3` (best epoch,
/// summary) is the `run_summary` view, so the CLI and hand-written SQL can't drift apart.
import Foundation
import GRDB

/// The order of `Store.summaries`.
public enum SummaryOrder: Sendable {
    /// Most recently created first.
    case newestFirst
    /// Lowest best_val_loss first; runs without epochs last.
    case bestValLoss
    /// Highest max_val_accuracy first; runs without epochs last.
    case maxValAccuracy
}

extension Store {
    /// The run as it really is: its status is `run_summary`'s (see `Store.live`).
    public func run(id: Int64) throws -> Run? {
        try summary(runID: id)?.run
    }

    /// The most recently created run with this name.
    public func run(named name: String) throws -> Run? {
        try attempt("Cannot read run \"\(name)\" from \(path)") {
            try writer.read { db in
                try RunSummary.fetchOne(
                    db, sql: "SELECT * FROM run_summary WHERE name = ? ORDER BY id DESC LIMIT 1",
                    arguments: [name])
            }.map(Self.live)?.run
        }
    }

    /// The runs forked from run `runID`, by id (through the runs_by_parent index).
    public func forks(of runID: Int64) throws -> [Run] {
        try attempt("Cannot list the forks of run \(runID) in \(path)") {
            try writer.read { db in
                try RunSummary.fetchAll(
                    db, sql: "SELECT * FROM run_summary WHERE parent_run_id = ? ORDER BY id",
                    arguments: [runID])
            }.map { Self.live($0).run }
        }
    }

    /// One epoch's metrics, nil if it was not recorded.
    public func epoch(runID: Int64, epoch: Int) throws -> EpochRecord? {
        try attempt("Cannot read epoch \(epoch) of run \(runID) from \(path)") {
            try writer.read { db in
                try EpochRecord.fetchOne(db, key: ["run_id": runID, "epoch": epoch])
            }
        }
    }

    /// The run's epoch with the highest val_accuracy, the earliest on ties.
    public func epochWithHighestValAccuracy(runID: Int64) throws -> EpochRecord? {
        try attempt("Cannot read the epochs of run \(runID) from \(path)") {
            try writer.read { db in
                try EpochRecord.fetchOne(
                    db,
                    sql: """
                        SELECT * FROM epochs WHERE run_id = ?
                        ORDER BY val_accuracy DESC, epoch LIMIT 1
                        """,
                    arguments: [runID])
            }
        }
    }

    /// The run's epochs in order.
    public func epochs(runID: Int64) throws -> [EpochRecord] {
        try attempt("Cannot read the epochs of run \(runID) from \(path)") {
            try writer.read { db in
                try EpochRecord.fetchAll(
                    db, sql: "SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch",
                    arguments: [runID])
            }
        }
    }

    /// The checkpoint after `epoch`, nil if none was kept. Throws `.checksumMismatch` if its
    /// bytes don't match the stored CRC-32.
    public func checkpoint(runID: Int64, epoch: Int) throws -> CheckpointRecord? {
        try attempt("Cannot load the checkpoint of run \(runID) at epoch \(epoch) from \(path)") {
            let row = try writer.read { db in
                try CheckpointRow.fetchOne(db, key: ["run_id": runID, "epoch": epoch])
            }
            return try row?.record()
        }
    }

    /// Epochs of the run that have a checkpoint, ascending.
    public func checkpointEpochs(runID: Int64) throws -> [Int] {
        try attempt("Cannot list the checkpoints of run \(runID) in \(path)") {
            try writer.read { db in
                try Int.fetchAll(
                    db, sql: "SELECT epoch FROM checkpoints WHERE run_id = ? ORDER BY epoch",
                    arguments: [runID])
            }
        }
    }

    public func summary(runID: Int64) throws -> RunSummary? {
        try attempt("Cannot summarize run \(runID) from \(path)") {
            try writer.read { db in
                try RunSummary.fetchOne(
                    db, sql: "SELECT * FROM run_summary WHERE id = ?", arguments: [runID])
            }.map(Self.live)
        }
    }

    /// Rows of `run_summary`, optionally only those with `status` and `tag`, at most `limit`
    /// of them.
    public func summaries(
        status: Run.Status? = nil, tag: String? = nil, limit: Int? = nil,
        order: SummaryOrder = .newestFirst
    ) throws -> [RunSummary] {
        try attempt("Cannot list runs in \(path)") {
            // Through run_tags_by_tag: the ids with the tag, then each one's row.
            let tagged = "(?3 IS NULL OR id IN (SELECT run_id FROM run_tags WHERE tag = ?3))"
            let sql: String
            switch order {
            case .newestFirst:
                sql = """
                    SELECT * FROM run_summary WHERE (?1 IS NULL OR status = ?1) AND \(tagged)
                    ORDER BY id DESC LIMIT ?2
                    """
            // Runs with epochs in the order of run_stats' index, then those without: one
            // ORDER BY with "IS NULL" first would sort every run instead of reading the index.
            case .bestValLoss:
                sql = """
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE best_val_loss IS NOT NULL
                                     AND (?1 IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY best_val_loss, id LIMIT ?2)
                    UNION ALL
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE best_val_loss IS NULL
                                     AND (?1 IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY id LIMIT ?2)
                    LIMIT ?2
                    """
            case .maxValAccuracy:
                sql = """
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE max_val_accuracy IS NOT NULL
                                     AND (?1 IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY max_val_accuracy DESC, id LIMIT ?2)
                    UNION ALL
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE max_val_accuracy IS NULL
                                     AND (?1 IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY id LIMIT ?2)
                    LIMIT ?2
                    """
            }
            // SQLite reads a negative LIMIT as "no limit".
            return try writer.read { db in
                try RunSummary.fetchAll(db, sql: sql, arguments: [status, limit ?? -1, tag])
            }.map(Self.live).filter { status == nil || $0.run.status == status }
        }
    }

    /// What `mnistlab db status` shows.
    public func status() throws -> DatabaseStatus {
        try attempt("Cannot read the status of \(path)") {
            try writer.read { db in
                let migrations = try Row.fetchAll(
                    db, sql: "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
                ).map {
                    AppliedMigration(version: $0["version"], name: $0["name"], appliedAt: $0["applied_at"])
                }
                let counts = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT (SELECT count(*) FROM runs) AS runs,
                               (SELECT count(*) FROM epochs) AS epochs,
                               (SELECT count(*) FROM checkpoints) AS checkpoints,
                               (SELECT coalesce(sum(\(Self.checkpointBytes)), 0)
                                FROM checkpoints) AS checkpoint_bytes
                        """)
                return DatabaseStatus(
                    path: path,
                    schemaVersion: migrations.last?.version ?? 0,
                    knownSchemaVersion: Migrations.latestVersion,
                    migrations: migrations,
                    runCount: counts?["runs"] ?? 0,
                    epochCount: counts?["epochs"] ?? 0,
                    checkpointCount: counts?["checkpoints"] ?? 0,
                    checkpointBytes: counts?["checkpoint_bytes"] ?? 0,
                    fileSizeBytes: databaseBytes())
            }
        }
    }

    /// Size of the database file plus its write-ahead log.
    func databaseBytes() -> Int64 { fileSize(path) + fileSize(path + "-wal") }

    private func fileSize(_ path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }
}

/// A row of `schema_migrations`.
public struct AppliedMigration: Sendable, Equatable {
    public var version: Int
    /// The file name without ".sql", e.g. "0001_init".
    public var name: String
    public var appliedAt: String
}

/// The state of a database file, for `mnistlab db status`.
public struct DatabaseStatus: Sendable, Equatable {
    public var path: String
    /// Highest applied migration.
    public var schemaVersion: Int
    /// Highest migration this build knows.
    public var knownSchemaVersion: Int
    public var migrations: [AppliedMigration]
    public var runCount: Int
    public var epochCount: Int
    public var checkpointCount: Int
    /// Bytes of every checkpoint's weights and velocity.
    public var checkpointBytes: Int64
    /// Size of the database file plus its write-ahead log.
    public var fileSizeBytes: Int64
}
