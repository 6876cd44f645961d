/// Store's reads: named queries. Anything a user might also type in `sqlite3` (best epoch,
/// summary) is the `run_summary` view, so the CLI and hand-written SQL can't drift apart.
import Foundation

/// What `Store.checkpoint(runID:picking:)` read, all from one snapshot.
public struct PickedCheckpoint: Sendable {
    public var summary: RunSummary
    /// The epoch chosen; nil when the choice found none.
    public var epoch: Int?
    /// Its checkpoint; nil when none was kept at that epoch.
    public var checkpoint: CheckpointRecord?
    /// The epochs of the run that had a checkpoint, ascending.
    public var kept: [Int]
}

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
        try attempt("Cannot read run \"\(name)\" from \(location)") {
            try summaries("SELECT * FROM run_summary WHERE name = ? ORDER BY id DESC LIMIT 1", [name.sqlValue]).first?.run
        }
    }

    /// The runs whose uid starts with `prefix` (lower-case hexadecimal digits and dashes, as
    /// uids are written), by id: one for a unique prefix.
    public func runs(uidPrefix prefix: String) throws -> [(id: Int64, uid: String)] {
        try attempt("Cannot look up the run with uid \(prefix)… in \(location)") {
            try read { db in
                try db.fetch("SELECT id, uid FROM runs WHERE uid LIKE ? ORDER BY id", [(prefix + "%").sqlValue])
                    .map { (try $0.get("id"), try $0.get("uid")) }
            }
        }
    }

    /// The runs forked from run `runID`, by id (through the runs_by_parent index).
    public func forks(of runID: Int64) throws -> [Run] {
        try attempt("Cannot list the forks of run \(runID) in \(location)") {
            try summaries("SELECT * FROM run_summary WHERE parent_run_id = ? ORDER BY id", [runID.sqlValue]).map(\.run)
        }
    }

    /// One epoch's metrics, nil if it was not recorded.
    public func epoch(runID: Int64, epoch: Int) throws -> EpochRecord? {
        try attempt("Cannot read epoch \(epoch) of run \(runID) from \(location)") {
            try read { db in
                try db.fetchOne(
                    "SELECT * FROM epochs WHERE run_id = ? AND epoch = ?",
                    [runID.sqlValue, epoch.sqlValue]
                ).map { try $0.decode(EpochRecord.self) }
            }
        }
    }

    /// The run's epoch with the highest val_accuracy, the earliest on ties.
    public func epochWithHighestValAccuracy(runID: Int64) throws -> EpochRecord? {
        try attempt("Cannot read the epochs of run \(runID) from \(location)") {
            try read { db in
                try db.fetchOne(
                    "SELECT * FROM epochs WHERE run_id = ? ORDER BY val_accuracy DESC, epoch LIMIT 1",
                    [runID.sqlValue]
                ).map { try $0.decode(EpochRecord.self) }
            }
        }
    }

    /// The run's epochs in order; with `after`, only those after that epoch.
    public func epochs(runID: Int64, after: Int = 0) throws -> [EpochRecord] {
        try attempt("Cannot read the epochs of run \(runID) from \(location)") {
            try read { db in
                try db.fetch(
                    "SELECT * FROM epochs WHERE run_id = ? AND epoch > ? ORDER BY epoch",
                    [runID.sqlValue, after.sqlValue]
                ).map { try $0.decode(EpochRecord.self) }
            }
        }
    }

    /// The checkpoint after `epoch`, nil if none was kept. Throws `.checksumMismatch` if its
    /// bytes don't match the stored CRC-32.
    public func checkpoint(runID: Int64, epoch: Int) throws -> CheckpointRecord? {
        try attempt("Cannot load the checkpoint of run \(runID) at epoch \(epoch) from \(location)") {
            let row = try read { db in
                try db.fetchOne(
                    "SELECT * FROM checkpoints WHERE run_id = ? AND epoch = ?",
                    [runID.sqlValue, epoch.sqlValue]
                ).map { try $0.decode(CheckpointRow.self) }
            }
            return try row?.record()
        }
    }

    /// A run's summary and, in the same transaction (one snapshot), its checkpoint at the
    /// epoch `pick` chooses from that summary (none when it chooses none), with the epochs
    /// that had one then. Nil when there is no run `runID`. A trainer that prunes the run's
    /// checkpoints meanwhile can't take the chosen one away between the choice and the read.
    public func checkpoint(
        runID: Int64, picking pick: (RunSummary) -> Int?
    ) throws -> PickedCheckpoint? {
        try attempt("Cannot load a checkpoint of run \(runID) from \(location)") {
            try read { db in try pickCheckpoint(db, runID: runID, pick) }
        }
    }

    /// `checkpoint(runID:picking:)` inside the current transaction.
    func pickCheckpoint(
        _ db: any SQLConnection, runID: Int64, _ pick: (RunSummary) -> Int?
    ) throws -> PickedCheckpoint? {
        guard
            let summary = try db.fetchOne("SELECT * FROM run_summary WHERE id = ?", [runID.sqlValue])
                .map({ Self.live(try $0.decode(RunSummary.self)) })
        else { return nil }
        let epoch = pick(summary)
        let row = try epoch.flatMap { epoch in
            try db.fetchOne(
                "SELECT * FROM checkpoints WHERE run_id = ? AND epoch = ?",
                [runID.sqlValue, epoch.sqlValue]
            ).map { try $0.decode(CheckpointRow.self) }
        }
        let kept: [Int] = try db.fetch(
            "SELECT epoch FROM checkpoints WHERE run_id = ? ORDER BY epoch", [runID.sqlValue]
        ).map { try $0.get("epoch") }
        return PickedCheckpoint(summary: summary, epoch: epoch, checkpoint: try row?.record(), kept: kept)
    }

    /// Epochs of the run that have a checkpoint, ascending.
    public func checkpointEpochs(runID: Int64) throws -> [Int] {
        try attempt("Cannot list the checkpoints of run \(runID) in \(location)") {
            try read { db in
                try db.fetch(
                    "SELECT epoch FROM checkpoints WHERE run_id = ? ORDER BY epoch", [runID.sqlValue]
                ).map { try $0.get("epoch") }
            }
        }
    }

    public func summary(runID: Int64) throws -> RunSummary? {
        try attempt("Cannot summarize run \(runID) from \(location)") {
            try summaries("SELECT * FROM run_summary WHERE id = ?", [runID.sqlValue]).first
        }
    }

    /// Every run's listing, newest first: what the dashboard's runs table shows.
    public func listings() throws -> [RunListing] {
        try attempt("Cannot list runs in \(location)") {
            try listings("SELECT \(RunListing.selection) FROM run_summary ORDER BY id DESC", [])
        }
    }

    /// Run `runID`'s listing, nil if there is no such run.
    public func listing(runID: Int64) throws -> RunListing? {
        try attempt("Cannot summarize run \(runID) from \(location)") {
            try listings("SELECT \(RunListing.selection) FROM run_summary WHERE id = ?", [runID.sqlValue]).first
        }
    }

    /// The runs whose row says they are running (whether or not their lease is still live:
    /// `status` is as it really is) and those created after run `after`, by id: what the
    /// dashboard's runs table watches for changes. Through the primary key and one pass over
    /// `runs`' status column, not the whole view.
    public func listings(runningOrAfter after: Int64) throws -> [RunListing] {
        try attempt("Cannot list the running runs in \(location)") {
            try listings(
                """
                SELECT \(RunListing.selection) FROM run_summary
                WHERE id > ? OR id IN (SELECT id FROM runs WHERE status = 'running')
                ORDER BY id
                """, [after.sqlValue])
        }
    }

    /// Rows of `run_summary`, optionally only those with `status` and `tag`, at most `limit`
    /// of them.
    public func summaries(
        status: Run.Status? = nil, tag: String? = nil, limit: Int? = nil,
        order: SummaryOrder = .newestFirst
    ) throws -> [RunSummary] {
        try attempt("Cannot list runs in \(location)") {
            // Through run_tags_by_tag: the ids with the tag, then each one's row. A parameter
            // that may be NULL is cast where it is tested for NULL: PostgreSQL can't tell the
            // type of a NULL from `? IS NULL` alone.
            let tagged = "(CAST(?3 AS TEXT) IS NULL OR id IN (SELECT run_id FROM run_tags WHERE tag = ?3))"
            let sql: String
            switch order {
            case .newestFirst:
                sql = """
                    SELECT * FROM run_summary WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND \(tagged)
                    ORDER BY id DESC LIMIT ?2
                    """
            // Runs with epochs in the order of run_stats' index, then those without: one
            // ORDER BY with "IS NULL" first would sort every run instead of reading the index.
            case .bestValLoss:
                sql = """
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE best_val_loss IS NOT NULL
                                     AND (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY best_val_loss, id LIMIT ?2) AS ranked
                    UNION ALL
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE best_val_loss IS NULL
                                     AND (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY id LIMIT ?2) AS unranked
                    LIMIT ?2
                    """
            case .maxValAccuracy:
                sql = """
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE max_val_accuracy IS NOT NULL
                                     AND (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY max_val_accuracy DESC, id LIMIT ?2) AS ranked
                    UNION ALL
                    SELECT * FROM (SELECT * FROM run_summary
                                   WHERE max_val_accuracy IS NULL
                                     AND (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND \(tagged)
                                   ORDER BY id LIMIT ?2) AS unranked
                    LIMIT ?2
                    """
            }
            // No limit is the largest one: both engines read it as "all rows".
            let found = try summaries(
                sql, [status?.rawValue.sqlValue ?? .null, (limit.map(Int64.init) ?? Int64.max).sqlValue, tag.sqlValue])
            guard let status else { return found }
            return found.filter { $0.run.status == status }
        }
    }

    /// Runs one statement that only reads (`mnistlab sql`: SELECT, WITH … SELECT, EXPLAIN, a
    /// PRAGMA or SHOW that reads), refused with `.notReadOnly` before it can write anything:
    /// each engine has its own guard (SQLiteReadOnlyStatement.swift, PostgresEngine.query).
    /// It runs within `limits`.
    public func query(_ sql: String, limits: StatementLimits = .terminal) throws -> QueryResult {
        try attempt("Cannot run SQL on \(location)") { try engine.query(sql, limits: limits) }
    }

    /// What `mnistlab db status` shows.
    public func status() throws -> DatabaseStatus {
        try attempt("Cannot read the status of \(location)") {
            let migrations = try engine.appliedMigrations()
            let counts = try read { db in
                try db.fetchOne(
                    """
                    SELECT (SELECT count(*) FROM runs) AS runs,
                           (SELECT count(*) FROM epochs) AS epochs,
                           (SELECT count(*) FROM checkpoints) AS checkpoints,
                           (SELECT coalesce(sum(\(Self.checkpointBytes)), 0)
                            FROM checkpoints) AS checkpoint_bytes
                    """)
            }
            return DatabaseStatus(
                path: location,
                schemaVersion: migrations.last?.version ?? 0,
                knownSchemaVersion: engine.knownSchemaVersion,
                migrations: migrations,
                runCount: try counts?.get("runs") ?? 0,
                epochCount: try counts?.get("epochs") ?? 0,
                checkpointCount: try counts?.get("checkpoints") ?? 0,
                checkpointBytes: try counts?.get("checkpoint_bytes") ?? 0,
                fileSizeBytes: try engine.sizeBytes())
        }
    }

    // MARK: - Inside reads

    /// Rows of `run_summary` that `sql` selects, each as it really is (`Store.live`).
    func summaries(_ sql: String, _ arguments: [SQLValue]) throws -> [RunSummary] {
        try read { db in try db.fetch(sql, arguments).map { Self.live(try $0.decode(RunSummary.self)) } }
    }

    /// The listings `sql` selects (`RunListing.selection` from `run_summary`), each as it
    /// really is (`Store.live`).
    private func listings(_ sql: String, _ arguments: [SQLValue]) throws -> [RunListing] {
        try read { db in try db.fetch(sql, arguments).map { Self.live(try $0.decode(RunListing.self)) } }
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
    /// Size of the database file plus its write-ahead log, or of the database on the server.
    public var fileSizeBytes: Int64
}
