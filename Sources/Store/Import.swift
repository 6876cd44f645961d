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
    /// Runs of the source that this store already had (the same uid) as they are there.
    public var alreadyPresent = 0
    /// Runs this store had that moved on in the source since (later epochs, status,
    /// evaluations, tags or note), brought up to date (source id → id here). Their new
    /// epochs, checkpoints and evaluations count in `epochs`, `checkpoints`, `evaluations`.
    public var updated: [Int64: Int64] = [:]
    /// Runs that moved on in both stores, left as they are here.
    public var diverged: [Divergence] = []
    /// Runs a live process is training in the source: not copied until they have ended.
    public var skippedLive: [Int64] = []
}

/// A run that moved on in the source and here since they were one: `import` leaves it alone.
public struct Divergence: Sendable, Equatable {
    public var sourceID: Int64
    public var id: Int64
    /// What differs, e.g. "epoch 8 is recorded here and not in the source".
    public var reason: String
}

extension Store {
    /// Copies into this store every run of `source` it does not have yet, and brings up to
    /// date every run it has (the same uid) that moved on in the source: later epochs and
    /// their checkpoints, status, evaluations, tags and note. A run that also moved on here
    /// (see `update`) is left alone and listed in `diverged`; the other runs still import. Each run is one
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
                    switch try update(present, to: run, from: source, sweepIDs: sweepIDs) {
                    case .unchanged:
                        summary.alreadyPresent += 1
                    case .updated(let copied):
                        summary.updated[run.id] = present
                        summary.epochs += copied.epochs
                        summary.checkpoints += copied.checkpoints
                        summary.evaluations += copied.evaluations
                    case .diverged(let reason):
                        summary.diverged.append(
                            Divergence(sourceID: run.id, id: present, reason: reason))
                    }
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

    /// The sweep `row` of `source` here: found by uid, or copied; with the trials it has
    /// there and not here (all of a new one, those a TPE sweep added since), their runs
    /// linked as the runs arrive. Returns its source id, its id here and whether it was
    /// copied now.
    private func importSweep(_ row: SQLRow, from source: Store) throws -> (Int64, Int64, Bool) {
        let sourceID: Int64 = try row.get("id")
        let uid: String? = try row.get("uid")
        let trials = try source.read { source in
            try source.fetch("SELECT * FROM trials WHERE sweep_id = ? ORDER BY number", [sourceID.sqlValue])
        }
        return try write { db in
            let id: Int64
            let present = try uid.flatMap {
                try db.scalar("SELECT id FROM sweeps WHERE uid = ?", [$0.sqlValue], as: Int64.self)
            }
            if let present {
                id = present
            } else {
                id = try nextID(in: "sweeps", db)
                try db.copy(row, into: "sweeps", setting: ["id": id.sqlValue])
            }
            let numbers = Set(
                try db.fetch("SELECT number FROM trials WHERE sweep_id = ?", [id.sqlValue])
                    .map { try $0.get("number") as Int })
            let missing = try trials.filter { !numbers.contains(try $0.get("number")) }
            let first = try nextID(in: "trials", lockedAs: "sweeps", db)
            for (k, trial) in missing.enumerated() {
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
            return (sourceID, id, present == nil)
        }
    }

    /// Everything the source recorded about one run, read in one snapshot.
    private struct SourceRun {
        var row: SQLRow
        var epochs: [SQLRow]
        var checkpoints: [SQLRow]
        var evaluations: [SQLRow]
        var confusion: [SQLRow]
        var tags: [SQLRow]
        var trial: SQLRow?
        /// The rungs its trial reached (ASHA), in rung order.
        var rungs: [SQLRow]

        init(_ runID: Int64, in source: Store) throws {
            let key = [runID.sqlValue]
            let rows = try source.read { db in
                (
                    try db.fetchOne("SELECT * FROM runs WHERE id = ?", key),
                    try db.fetch("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch", key),
                    try db.fetch("SELECT * FROM checkpoints WHERE run_id = ? ORDER BY epoch", key),
                    try db.fetch("SELECT * FROM evaluations WHERE run_id = ? ORDER BY epoch", key),
                    try db.fetch("SELECT * FROM confusion WHERE run_id = ?", key),
                    try db.fetch("SELECT * FROM run_tags WHERE run_id = ?", key),
                    try db.fetchOne(
                        """
                        SELECT sweep_id, number, \(Store.trialState.joined(separator: ", "))
                        FROM trials WHERE run_id = ?
                        """, key),
                    try db.fetch(
                        """
                        SELECT g.rung, g.epoch, g.val_loss, g.reached_at, g.promoted_at
                        FROM trial_rungs AS g JOIN trials AS t ON t.id = g.trial_id
                        WHERE t.run_id = ? ORDER BY g.rung
                        """, key)
                )
            }
            guard let row = rows.0 else {
                throw StoreError(.notFound, "there is no run \(runID) in the source.")
            }
            (self.row, epochs, checkpoints, evaluations, confusion, tags, trial, rungs) =
                (row, rows.1, rows.2, rows.3, rows.4, rows.5, rows.6, rows.7)
        }
    }

    /// Copies one run with everything recorded about it, in one transaction.
    private func importRun(
        _ run: Run, from source: Store, runIDs: [Int64: Int64], sweepIDs: [Int64: Int64]
    ) throws -> (id: Int64, epochs: Int, checkpoints: Int, evaluations: Int) {
        let copy = try SourceRun(run.id, in: source)
        let (row, epochs, checkpoints, evaluations, confusion, tags) =
            (copy.row, copy.epochs, copy.checkpoints, copy.evaluations, copy.confusion, copy.tags)
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
            try link(id, toTrial: copy, sweepIDs: sweepIDs, db)
            return (id, epochs.count, checkpoints.count, evaluations.count)
        }
    }

    /// Links run `id` here to its trial (the source's row and the rungs it reached), and
    /// gives the trial where the source has it (`trialState`: status, attempts, failure
    /// reason, ASHA rung, batch job) and the rungs it reached there (each promotion kept
    /// once, as the source recorded it), unless a live worker holds it here.
    private func link(
        _ id: Int64, toTrial copy: SourceRun, sweepIDs: [Int64: Int64], _ db: any SQLConnection
    ) throws {
        guard let trial = copy.trial, let sweep = sweepIDs[try trial.get("sweep_id")] else { return }
        try db.execute(
            "UPDATE trials SET run_id = ? WHERE sweep_id = ? AND number = ? AND run_id IS NULL",
            [id.sqlValue, sweep.sqlValue, trial["number"]])
        guard
            let here = try db.scalar(
                """
                SELECT id FROM trials WHERE sweep_id = ? AND number = ? AND run_id = ?
                  AND id NOT IN (SELECT id FROM live_trials)
                """, [sweep.sqlValue, trial["number"], id.sqlValue], as: Int64.self)
        else { return }
        try db.execute(
            "UPDATE trials SET \(Self.trialState.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?",
            Self.trialState.map { trial[$0] } + [here.sqlValue])
        for rung in copy.rungs {
            try db.execute(
                """
                INSERT INTO trial_rungs (trial_id, rung, epoch, val_loss, reached_at, promoted_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (trial_id, rung) DO UPDATE
                SET promoted_at = coalesce(trial_rungs.promoted_at, excluded.promoted_at)
                """,
                [here.sqlValue, rung["rung"], rung["epoch"], rung["val_loss"], rung["reached_at"], rung["promoted_at"]])
        }
    }

    /// The columns of a trial that an import brings over with its run: where it stands, and
    /// who last trained it (migrations 0008, 0013 and 0014), not who holds it now.
    fileprivate static let trialState = [
        "status", "attempts", "failure_reason", "rung", "job_id", "array_job_id", "array_task_id",
        "node",
    ]

    private enum UpdateOutcome {
        case unchanged
        case updated((epochs: Int, checkpoints: Int, evaluations: Int))
        case diverged(String)
    }

    /// The columns of a run's row that `update` leaves as they are here: its identity, its
    /// place here (parent, sweep), its name (a rename here is kept), its holder and its note
    /// (taken from the source only when the source has one).
    private static let keptColumns: Set<String> = [
        "id", "uid", "created_at", "name", "parent_run_id", "parent_epoch", "sweep_id",
        "owner_token", "lease_expires_at", "note",
    ]

    /// Brings run `id` here up to date with the source's `run`, in one transaction: what the
    /// source recorded since (epochs, checkpoints, evaluations, tags, note, status and the
    /// row's other columns). Refused (`.diverged`, writing nothing) when the run moved on
    /// here too: a live process holds it here, an epoch here was recorded otherwise in the
    /// source, or each store has epochs the other lacks. A run that only went further here
    /// is left as it is (`.unchanged`).
    private func update(
        _ id: Int64, to run: Run, from source: Store, sweepIDs: [Int64: Int64]
    ) throws -> UpdateOutcome {
        let copy = try SourceRun(run.id, in: source)
        let key = [id.sqlValue]
        return try write { db -> UpdateOutcome in
            try lockCheckpoints(ofRun: id, db)
            guard
                let here = try db.fetchOne("SELECT * FROM run_summary WHERE id = ?", key)
                    .map({ Self.live(try $0.decode(RunSummary.self)) }),
                let hereRow = try db.fetchOne("SELECT * FROM runs WHERE id = ?", key)
            else { throw StoreError(.notFound, "there is no run \(id).") }
            if here.run.status == .running {
                return .diverged("it is being trained here")
            }
            // The epochs here must be the source's, value for value.
            let metrics = ["train_loss", "train_accuracy", "val_loss", "val_accuracy"]
            var sourceEpochs: [Int: SQLRow] = [:]
            for epoch in copy.epochs { sourceEpochs[try epoch.get("epoch")] = epoch }
            var hereEpochs = Set<Int>()
            var hereOnly: [Int] = []
            for epoch in try db.fetch("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch", key) {
                let n: Int = try epoch.get("epoch")
                hereEpochs.insert(n)
                guard let theirs = sourceEpochs[n] else {
                    hereOnly.append(n)
                    continue
                }
                for column in metrics
                where try (epoch.get(column) as Double) != (theirs.get(column) as Double) {
                    return .diverged("epoch \(n) was recorded otherwise here (\(column))")
                }
            }
            let newEpochs = try copy.epochs.filter { !hereEpochs.contains(try $0.get("epoch")) }
            if let first = hereOnly.first {
                // This store went further than the source: nothing there is newer, unless
                // the source went on too.
                guard let theirs = newEpochs.first else { return .unchanged }
                return .diverged(
                    "epoch \(first) is recorded here and not in the source, and epoch "
                        + "\(try theirs.get("epoch") as Int) there and not here")
            }
            try copyEpochs(newEpochs, ofRun: id, db)

            // Checkpoints: the source's retention, but never one a fork here started from.
            let runID = ["run_id": id.sqlValue]
            let hereCheckpoints = Set(
                try db.fetch("SELECT epoch FROM checkpoints WHERE run_id = ?", key)
                    .map { try $0.get("epoch") as Int })
            let sourceCheckpoints = Set(try copy.checkpoints.map { try $0.get("epoch") as Int })
            var changed = newEpochs.count
            for checkpoint in copy.checkpoints
            where !hereCheckpoints.contains(try checkpoint.get("epoch")) {
                try db.copy(checkpoint, into: "checkpoints", setting: runID)
                changed += 1
            }
            let addedCheckpoints = changed - newEpochs.count
            for epoch in hereCheckpoints.subtracting(sourceCheckpoints).sorted() {
                changed += try db.execute(
                    """
                    DELETE FROM checkpoints WHERE run_id = ?1 AND epoch = ?2
                      AND epoch NOT IN (SELECT parent_epoch FROM runs
                                        WHERE parent_run_id = ?1 AND parent_epoch IS NOT NULL)
                    """, [id.sqlValue, epoch.sqlValue])
            }

            // Evaluations: the source's where here has none of that epoch or an older one.
            var addedEvaluations = 0
            for evaluation in copy.evaluations {
                let epoch: Int = try evaluation.get("epoch")
                let ours = try db.fetchOne(
                    "SELECT evaluated_at FROM evaluations WHERE run_id = ? AND epoch = ?",
                    [id.sqlValue, epoch.sqlValue])
                if let ours, try (ours.get("evaluated_at") as String) >= evaluation.get("evaluated_at") {
                    continue
                }
                for table in ["confusion", "evaluations"] {
                    try db.execute(
                        "DELETE FROM \(table) WHERE run_id = ? AND epoch = ?", [id.sqlValue, epoch.sqlValue])
                }
                try db.copy(evaluation, into: "evaluations", setting: runID)
                for cell in copy.confusion where try cell.get("epoch") == epoch {
                    try db.copy(cell, into: "confusion", setting: runID)
                }
                addedEvaluations += 1
            }
            changed += addedEvaluations

            for tag in copy.tags {
                changed += try db.execute(
                    "INSERT INTO run_tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [id.sqlValue, tag["tag"]])
            }
            if copy.row["note"] != .null, copy.row["note"] != hereRow["note"] {
                changed += try db.execute("UPDATE runs SET note = ? WHERE id = ?", [copy.row["note"], id.sqlValue])
            }

            // The row's other columns, with the status readers saw (an expired lease reads
            // interrupted).
            var values = copy.row
                .columns.names.filter { !Self.keptColumns.contains($0) }
                .map { ($0, $0 == "status" ? run.status.rawValue.sqlValue : copy.row[$0]) }
            values.removeAll { hereRow[$0.0] == $0.1 }
            if !values.isEmpty {
                try db.execute(
                    "UPDATE runs SET \(values.map { "\($0.0) = ?" }.joined(separator: ", ")) WHERE id = ?",
                    values.map(\.1) + [id.sqlValue])
                changed += 1
            }
            try link(id, toTrial: copy, sweepIDs: sweepIDs, db)
            guard changed > 0 else { return .unchanged }
            return .updated((newEpochs.count, addedCheckpoints, addedEvaluations))
        }
    }

    /// Copies epochs into run `id` (which has none of them yet) and leaves its run_stats row
    /// as all its epochs make it. The row is taken away while they go in, so that the insert
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
