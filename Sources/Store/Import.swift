/// `mnistlab import`: every run of another store copied into this one, with its epochs,
/// checkpoints (the same bytes), evaluations, confusion cells and tags, and the sweeps its
/// runs belong to with their trials. Runs and sweeps get new ids here; their stable `uid`
/// (migration 0009) says what is already here, so importing the same source again adds
/// nothing, and a fork's parent and a run's sweep are found through it.
import Foundation

/// What `importRuns` did.
public struct ImportSummary: Sendable, Equatable {
    /// Runs copied, with their new ids (source id → id here).
    public var runs: [Int64: Int64] = [:]
    /// Sweeps copied (source id → id here).
    public var sweeps: [Int64: Int64] = [:]
    public var epochs = 0
    public var checkpoints = 0
    public var evaluations = 0
    /// Runs of the source that this store already had (the same uid).
    public var alreadyPresent = 0
    /// Runs a live process is training in the source: not copied until they have ended.
    public var skippedLive: [Int64] = []
}

extension Store {
    /// Copies into this store every run of `source` it does not have yet. Each run is one
    /// transaction here (its row, epochs, checkpoints, evaluations, confusion cells and tags
    /// all or nothing), in id order so that a fork comes after the run it started from; a
    /// run interrupted midway is simply copied again by the next import. Live runs are left
    /// for a later import: their copy would be a snapshot that nothing could finish.
    public func importRuns(from source: Store) throws -> ImportSummary {
        try attempt("Cannot import runs from \(source.location) into \(location)") {
            var summary = ImportSummary()
            var sweepIDs: [Int64: Int64] = [:]
            for sweep in try source.read({ db in try db.fetch("SELECT * FROM sweeps ORDER BY id") }) {
                let (sourceID, id, copied) = try importSweep(sweep, from: source)
                sweepIDs[sourceID] = id
                if copied { summary.sweeps[sourceID] = id }
            }
            var runIDs: [Int64: Int64] = [:]
            let runs = try source.summaries("SELECT * FROM run_summary ORDER BY id", [])
            for run in runs.map(\.run) {
                if run.status == .running {
                    summary.skippedLive.append(run.id)
                    continue
                }
                if let present = try runID(uid: run.uid) {
                    runIDs[run.id] = present
                    summary.alreadyPresent += 1
                    continue
                }
                let copy = try importRun(run, from: source, runIDs: runIDs, sweepIDs: sweepIDs)
                runIDs[run.id] = copy.id
                summary.runs[run.id] = copy.id
                summary.epochs += copy.epochs
                summary.checkpoints += copy.checkpoints
                summary.evaluations += copy.evaluations
            }
            return summary
        }
    }

    /// The id of the run with `uid` here, nil when there is none.
    private func runID(uid: String?) throws -> Int64? {
        guard let uid else { return nil }
        return try read { db in try db.scalar("SELECT id FROM runs WHERE uid = ?", [uid.sqlValue]) }
    }

    /// The sweep `row` of `source` here: found by uid, or copied with its trials (their runs
    /// linked as the runs arrive). Returns its source id, its id here and whether it was
    /// copied now.
    private func importSweep(_ row: SQLRow, from source: Store) throws -> (Int64, Int64, Bool) {
        let sourceID: Int64 = try row.get("id")
        let uid: String? = try row.get("uid")
        return try write { db in
            if let uid, let present = try db.scalar("SELECT id FROM sweeps WHERE uid = ?", [uid.sqlValue], as: Int64.self) {
                return (sourceID, present, false)
            }
            let id = try nextID(in: "sweeps", db)
            try db.copy(row, into: "sweeps", setting: ["id": id.sqlValue])
            let trials = try source.read { source in
                try source.fetch("SELECT * FROM trials WHERE sweep_id = ? ORDER BY number", [sourceID.sqlValue])
            }
            let first = try nextID(in: "trials", lockedAs: "sweeps", db)
            for (k, trial) in trials.enumerated() {
                // Nobody here holds the trial: a running one is free for the next worker,
                // which resumes its run once that run is here.
                try db.copy(
                    trial, into: "trials",
                    setting: [
                        "id": (first + Int64(k)).sqlValue, "sweep_id": id.sqlValue,
                        "run_id": .null, "worker": .null, "worker_token": .null,
                        "lease_expires_at": .null,
                    ])
            }
            return (sourceID, id, true)
        }
    }

    /// Copies one run with everything recorded about it, in one transaction.
    private func importRun(
        _ run: Run, from source: Store, runIDs: [Int64: Int64], sweepIDs: [Int64: Int64]
    ) throws -> (id: Int64, epochs: Int, checkpoints: Int, evaluations: Int) {
        let key = [run.id.sqlValue]
        let (row, epochs, checkpoints, evaluations, confusion, tags, trial) = try source.read { db in
            (
                try db.fetchOne("SELECT * FROM runs WHERE id = ?", key),
                try db.fetch("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch", key),
                try db.fetch("SELECT * FROM checkpoints WHERE run_id = ? ORDER BY epoch", key),
                try db.fetch("SELECT * FROM evaluations WHERE run_id = ? ORDER BY epoch", key),
                try db.fetch("SELECT * FROM confusion WHERE run_id = ?", key),
                try db.fetch("SELECT * FROM run_tags WHERE run_id = ?", key),
                try db.fetchOne("SELECT sweep_id, number FROM trials WHERE run_id = ?", key)
            )
        }
        guard let row else { throw StoreError(.notFound, "there is no run \(run.id) in the source.") }
        let parentID = try run.parentRunID.map { parent in
            guard let id = runIDs[parent] else {
                throw StoreError(
                    .notFound, "run \(run.id) was forked from run \(parent), which was not copied.")
            }
            return id
        }
        return try write { db in
            let id = try nextID(in: "runs", db)
            // The status readers saw (an expired lease reads interrupted) and no holder here.
            try db.copy(
                row, into: "runs",
                setting: [
                    "id": id.sqlValue, "status": run.status.rawValue.sqlValue,
                    "parent_run_id": parentID.sqlValue,
                    "sweep_id": (run.sweepID.flatMap { sweepIDs[$0] }).sqlValue,
                    "owner_token": .null, "lease_expires_at": .null,
                ])
            let runID = ["run_id": id.sqlValue]
            try copyEpochs(epochs, ofRun: id, db)
            for table in [("checkpoints", checkpoints), ("evaluations", evaluations), ("confusion", confusion), ("run_tags", tags)] {
                for item in table.1 { try db.copy(item, into: table.0, setting: runID) }
            }
            if let trial, let sweep = sweepIDs[try trial.get("sweep_id")] {
                try db.execute(
                    "UPDATE trials SET run_id = ? WHERE sweep_id = ? AND number = ? AND run_id IS NULL",
                    [id.sqlValue, sweep.sqlValue, trial["number"]])
            }
            return (id, epochs.count, checkpoints.count, evaluations.count)
        }
    }

    /// Copies a run's epochs into run `id`, which has none yet, and leaves its run_stats row
    /// as the epochs make it. The row is taken away while they go in, so that the insert
    /// trigger's three UPDATEs per epoch find nothing to do, then made again and recomputed
    /// from all of them at once by the update trigger, which one unchanged UPDATE of an
    /// epoch fires (the rules stay the migrations'). On PostgreSQL each UPDATE of the one
    /// row inside one transaction left a row version that every later one stepped over:
    /// importing a run of 10,000 epochs took 43 s, quadratic in its epochs.
    private func copyEpochs(_ epochs: [SQLRow], ofRun id: Int64, _ db: any SQLConnection) throws {
        guard let first = epochs.first else { return }
        try db.execute("DELETE FROM run_stats WHERE run_id = ?", [id.sqlValue])
        for epoch in epochs { try db.copy(epoch, into: "epochs", setting: ["run_id": id.sqlValue]) }
        try db.execute("INSERT INTO run_stats (run_id) VALUES (?)", [id.sqlValue])
        try db.execute(
            "UPDATE epochs SET epoch = epoch WHERE run_id = ? AND epoch = ?", [id.sqlValue, first["epoch"]])
    }
}

extension SQLConnection {
    /// Inserts `row` (read from another store's table of the same name) into `table`: its
    /// columns as they are, but those in `setting` with the values given.
    fileprivate func copy(
        _ row: SQLRow, into table: String, setting: [String: SQLValue]
    ) throws {
        let columns = row.columns.names
        try insert(columns.map { setting[$0] ?? row[$0] }, columns: columns, into: table)
    }
}
