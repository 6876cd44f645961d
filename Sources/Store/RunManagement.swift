/// Managing runs after the fact: tags, notes and names; deleting runs without breaking the
/// lineage of their forks; pruning checkpoints; giving the space back. Every write is one
/// write transaction, and what a dry run reports is computed by the same code, inside
/// that transaction, as what the write then does.
import Foundation

/// Runs that `removeRuns` deletes (or would), forks before the runs they came from.
public struct RunRemoval: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var runID: Int64
        public var name: String
        public var parentRunID: Int64?
        public var epochs: Int
        public var checkpoints: Int
        public var evaluations: Int
        /// length(weights) + length(velocity) of its checkpoints.
        public var checkpointBytes: Int64
    }

    /// A trial of a sweep that stays whose run goes: it becomes pending again, with no run
    /// and no attempts, so the sweep keeps every grid point and its next worker trains this
    /// one afresh.
    public struct TrialReset: Sendable, Equatable {
        public var sweepID: Int64
        public var number: Int
        public var runID: Int64
    }

    /// A sweep deleted whole (`rm --sweep`): its row and its trials; its runs are in `runs`.
    public struct SweepItem: Sendable, Equatable {
        public var sweepID: Int64
        public var trials: Int
    }

    public var runs: [Item]
    public var trialResets: [TrialReset] = []
    public var sweeps: [SweepItem] = []
    public var checkpointBytes: Int64 { runs.reduce(0) { $0 + $1.checkpointBytes } }
}

/// Checkpoints that `pruneCheckpoints` deletes (or would), per run.
public struct CheckpointPruning: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var runID: Int64
        public var name: String
        /// Epochs whose checkpoint goes, ascending.
        public var dropped: [Int]
        /// Epochs whose checkpoint stays, ascending, and why (below).
        public var kept: [Int]
        /// Bytes of the dropped checkpoints (weights + velocity).
        public var droppedBytes: Int64
        public var bestEpoch: Int?
        /// The run's latest checkpoint.
        public var lastEpoch: Int?
        /// Epochs forks of this run started from.
        public var forkEpochs: [Int]
    }

    public var runs: [Item]
    public var droppedBytes: Int64 { runs.reduce(0) { $0 + $1.droppedBytes } }
    public var droppedCount: Int { runs.reduce(0) { $0 + $1.dropped.count } }
}

/// The checkpoint space one run takes, for `db status`.
public struct CheckpointSpace: Sendable, Equatable {
    public var runID: Int64
    public var name: String
    public var checkpoints: Int
    public var bytes: Int64
}

/// The size of the database file (plus its write-ahead log) before and after `vacuum`.
public struct Vacuum: Sendable, Equatable {
    public var bytesBefore: Int64
    public var bytesAfter: Int64
}

extension StoreError {
    /// `.runsLive` for the runs that live processes hold.
    static func live(_ runs: [Run], action: String) -> StoreError {
        let holders = runs.map {
            RunHolder(runID: $0.id, pid: $0.pid, host: $0.host, leaseExpiresAt: $0.leaseExpiresAt)
        }
        let list = holders.map {
            "run \($0.runID) (process \($0.pid.map(String.init) ?? "?") on \($0.host ?? "?"))"
        }
        return StoreError(
            .runsLive(holders), "\(list.joined(separator: ", ")) \(runs.count == 1 ? "is" : "are") "
                + "being trained.", action: action)
    }
}

extension Store {
    // MARK: - Tags, notes, names

    /// Adds `tags` to each run (a tag a run already has stays once). Live runs too: tags are
    /// metadata that training never reads.
    public func tagRuns(_ runIDs: [Int64], with tags: [String]) throws {
        try attempt("Cannot tag runs in \(location)") {
            try write { db in
                try requireRuns(db, runIDs)
                for id in runIDs {
                    for tag in tags {
                        try db.execute(
                            "INSERT INTO run_tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                            [id.sqlValue, tag.sqlValue])
                    }
                }
            }
        }
    }

    /// Removes `tags` from each run; returns how many (run, tag) pairs were removed.
    @discardableResult
    public func untagRuns(_ runIDs: [Int64], removing tags: [String]) throws -> Int {
        try attempt("Cannot untag runs in \(location)") {
            try write { db in
                try requireRuns(db, runIDs)
                var removed = 0
                for id in runIDs {
                    for tag in tags {
                        removed += try db.execute(
                            "DELETE FROM run_tags WHERE run_id = ? AND tag = ?",
                            [id.sqlValue, tag.sqlValue])
                    }
                }
                return removed
            }
        }
    }

    /// Replaces the run's note; nil or "" clears it.
    public func setNote(runID: Int64, _ note: String?) throws {
        try attempt("Cannot set the note of run \(runID) in \(location)") {
            try write { db in
                try requireRuns(db, [runID])
                try db.execute(
                    "UPDATE runs SET note = ? WHERE id = ?",
                    [(note?.isEmpty == false ? note : nil).sqlValue, runID.sqlValue])
            }
        }
    }

    /// Renames the run (names need not be unique: `run(named:)` finds the newest).
    public func renameRun(id: Int64, to name: String) throws {
        try attempt("Cannot rename run \(id) in \(location)") {
            guard !name.isEmpty else {
                throw StoreError(.invalidArgument, "a run name cannot be empty.")
            }
            try write { db in
                try requireRuns(db, [id])
                try db.execute("UPDATE runs SET name = ? WHERE id = ?", [name.sqlValue, id.sqlValue])
            }
        }
    }

    // MARK: - Removing runs

    /// What `removeRuns` would delete, read without writing; throws as it would. The very
    /// decision the removal takes (`planRemoval`), reported instead of carried out.
    public func removalPlan(
        _ runIDs: [Int64], sweeps sweepIDs: [Int64] = [], withForks: Bool
    ) throws -> RunRemoval {
        try attempt(removeAction(runIDs, sweepIDs)) {
            try read { db in try planRemoval(db, runIDs, sweepIDs, withForks: withForks) }
        }
    }

    /// Deletes the runs, and the sweeps `sweepIDs` with their trials and every run of them,
    /// with everything recorded about each run (confusion cells, evaluations, checkpoints,
    /// epochs, tags, figures), in one transaction. A run of a sweep that stays gives its
    /// trial back to the sweep as pending (`RunRemoval.TrialReset`). Refuses, deleting
    /// nothing: an unknown run or sweep; a run forked from by a run not being deleted, unless
    /// `withForks`, which deletes every fork below the runs too; a live run (its lease has not
    /// expired and, on this machine, its process exists); a trial a live worker holds.
    @discardableResult
    public func removeRuns(
        _ runIDs: [Int64], sweeps sweepIDs: [Int64] = [], withForks: Bool
    ) throws -> RunRemoval {
        try attempt(removeAction(runIDs, sweepIDs)) {
            let plan = try write { db in
                // A worker claiming a trial meanwhile waits, then finds it gone or pending.
                try engine.lock("claims of trials", db)
                let plan = try planRemoval(db, runIDs, sweepIDs, withForks: withForks)
                try carryOut(plan, db)
                return plan
            }
            if plan.runs.contains(where: { $0.checkpoints > 0 }) { reclaimCheckpointSpace() }
            return plan
        }
    }

    /// Executes `plan`, which `planRemoval` made in this transaction: nothing is decided here.
    private func carryOut(_ plan: RunRemoval, _ db: any SQLConnection) throws {
        for reset in plan.trialResets {
            try db.execute(
                """
                UPDATE trials SET status = 'pending', run_id = NULL, attempts = 0, worker = NULL,
                    worker_token = NULL, lease_expires_at = NULL, failure_reason = NULL
                WHERE sweep_id = ? AND number = ?
                """, [reset.sweepID.sqlValue, reset.number.sqlValue])
        }
        for sweep in plan.sweeps {
            try db.execute("UPDATE trials SET run_id = NULL WHERE sweep_id = ?", [sweep.sweepID.sqlValue])
        }
        for item in plan.runs {
            // Its figures first: they go with the run anyway, and without the row the
            // epochs' AFTER DELETE trigger has nothing to recompute for each epoch
            // deleted (quadratic in the run's epochs otherwise).
            for sql in Self.removeRunStatements {
                try db.execute(sql, [item.runID.sqlValue])
            }
        }
        for sweep in plan.sweeps {
            try db.execute("DELETE FROM trials WHERE sweep_id = ?", [sweep.sweepID.sqlValue])
            try db.execute("DELETE FROM sweeps WHERE id = ?", [sweep.sweepID.sqlValue])
        }
    }

    /// One run's rows, children of a foreign key before their parents; a fork is deleted
    /// before the run it started from (`planRemoval`'s order), so the fork's reference to
    /// its parent's checkpoint never dangles.
    private static let removeRunStatements = [
        "DELETE FROM run_stats WHERE run_id = ?",
        "DELETE FROM confusion WHERE run_id = ?",
        "DELETE FROM evaluations WHERE run_id = ?",
        "DELETE FROM checkpoints WHERE run_id = ?",
        "DELETE FROM epochs WHERE run_id = ?",
        "DELETE FROM run_tags WHERE run_id = ?",
        "DELETE FROM runs WHERE id = ?",
    ]

    private func removeAction(_ runIDs: [Int64], _ sweepIDs: [Int64] = []) -> String {
        var what: [String] = []
        if !runIDs.isEmpty {
            what.append("run\(runIDs.count == 1 ? "" : "s") \(runIDs.map(String.init).joined(separator: ", "))")
        }
        if !sweepIDs.isEmpty {
            what.append("sweep\(sweepIDs.count == 1 ? "" : "s") \(sweepIDs.map(String.init).joined(separator: ", "))")
        }
        return "Cannot remove \(what.joined(separator: " and ")) from \(location)"
    }

    /// THE removal decision, for the dry run and the removal alike: what goes, in which order,
    /// and what becomes of the trials of the runs that go; or why nothing may.
    private func planRemoval(
        _ db: any SQLConnection, _ runIDs: [Int64], _ sweepIDs: [Int64], withForks: Bool
    ) throws -> RunRemoval {
        try requireRuns(db, runIDs)
        let sweeps = Array(Set(sweepIDs)).sorted()
        var sweepItems: [RunRemoval.SweepItem] = []
        var sweepRuns: [Int64] = []
        for sweep in sweeps {
            guard try db.exists("SELECT 1 FROM sweeps WHERE id = ?", [sweep.sqlValue]) else {
                throw StoreError(.notFound, "there is no sweep \(sweep).")
            }
            try requireNoLiveTrials(db, sweepID: sweep)
            sweepRuns += try db.fetch(
                """
                SELECT id FROM runs WHERE sweep_id = ?1
                UNION SELECT run_id FROM trials WHERE sweep_id = ?1 AND run_id IS NOT NULL
                """, [sweep.sqlValue]
            ).map { try $0.get("id") }
            sweepItems.append(
                .init(
                    sweepID: sweep,
                    trials: try db.scalar("SELECT count(*) FROM trials WHERE sweep_id = ?", [sweep.sqlValue]) ?? 0))
        }
        let asked = Set(runIDs).union(sweepRuns)
        // The runs and, below them, every fork (through runs_by_parent).
        var children: [Int64: [Int64]] = [:]
        var selected = asked
        var queue = asked.sorted()
        var outside: [Int64: [Int64]] = [:]
        while let id = queue.first {
            queue.removeFirst()
            let forks: [Int64] = try db.fetch(
                "SELECT id FROM runs WHERE parent_run_id = ? ORDER BY id", [id.sqlValue]
            ).map { try $0.get("id") }
            children[id] = forks
            for fork in forks where !selected.contains(fork) {
                if withForks {
                    selected.insert(fork)
                    queue.append(fork)
                } else {
                    outside[id, default: []].append(fork)
                }
            }
        }
        if let (parent, forks) = outside.min(by: { $0.key < $1.key }) {
            let list = forks.map(String.init).joined(separator: ", ")
            throw StoreError(
                .hasForks(runID: parent, forks: forks),
                forks.count == 1
                    ? "run \(list) was forked from run \(parent)."
                    : "runs \(list) were forked from run \(parent).")
        }
        let live = try liveRuns(db).filter { selected.contains($0.id) }
        if !live.isEmpty {
            throw StoreError.live(live, action: removeAction(runIDs, sweepIDs))
        }
        // The trials of the runs that go, in sweeps that stay.
        var resets: [RunRemoval.TrialReset] = []
        for id in selected.sorted() {
            for row in try db.fetch(
                "SELECT sweep_id, number FROM trials WHERE run_id = ? ORDER BY sweep_id, number",
                [id.sqlValue])
            {
                let sweep: Int64 = try row.get("sweep_id")
                guard !sweeps.contains(sweep) else { continue }
                resets.append(.init(sweepID: sweep, number: try row.get("number"), runID: id))
            }
        }
        for sweep in Set(resets.map(\.sweepID)).sorted() {
            try requireNoLiveTrials(db, sweepID: sweep, ofRuns: Set(resets.map(\.runID)))
        }
        // Forks before their parents: depth-first, each run after all runs below it.
        var order: [Int64] = []
        var placed = Set<Int64>()
        func place(_ id: Int64) {
            guard !placed.contains(id) else { return }
            placed.insert(id)
            for child in children[id] ?? [] where selected.contains(child) { place(child) }
            order.append(id)
        }
        for id in selected.sorted() { place(id) }
        return RunRemoval(
            runs: try order.map { try removalItem(db, $0) }, trialResets: resets, sweeps: sweepItems)
    }

    /// Throws `.trialsHeld` when a live worker holds a trial of sweep `sweepID` (of one of
    /// `runs`, when given): the `live_trials` view's rule and, on this machine, a worker
    /// process that still exists.
    private func requireNoLiveTrials(
        _ db: any SQLConnection, sweepID: Int64, ofRuns runs: Set<Int64>? = nil
    ) throws {
        let held = try db.fetch(
            """
            SELECT number, worker, run_id FROM trials
            WHERE sweep_id = ? AND id IN (SELECT id FROM live_trials) ORDER BY number
            """, [sweepID.sqlValue]
        ).filter { row in
            let run: Int64? = try row.get("run_id")
            let worker: String? = try row.get("worker")
            let concerned = runs.map { set in run.map { set.contains($0) } ?? false } ?? true
            return concerned && !Self.workerDiedOnThisHost(worker)
        }
        guard !held.isEmpty else { return }
        let workers = Array(Set(try held.map { (try $0.get("worker") as String?) ?? "?" })).sorted()
        let numbers = try held.map { String(try $0.get("number") as Int) }
        throw StoreError(
            .trialsHeld(sweepID: sweepID, workers: workers),
            "trial\(numbers.count == 1 ? "" : "s") \(numbers.joined(separator: ", ")) of sweep "
                + "\(sweepID) \(numbers.count == 1 ? "is" : "are") held by worker"
                + "\(workers.count == 1 ? "" : "s") \(workers.joined(separator: ", ")).")
    }

    private func removalItem(_ db: any SQLConnection, _ id: Int64) throws -> RunRemoval.Item {
        let row = try db.fetchOne(
            """
                SELECT r.name, r.parent_run_id,
                    (SELECT count(*) FROM epochs WHERE run_id = r.id) AS epochs,
                    (SELECT count(*) FROM evaluations WHERE run_id = r.id) AS evaluations,
                    (SELECT count(*) FROM checkpoints WHERE run_id = r.id) AS checkpoints,
                    (SELECT coalesce(sum(\(Self.checkpointBytes)), 0) FROM checkpoints
                     WHERE run_id = r.id) AS bytes
                FROM runs AS r WHERE r.id = ?
                """, [id.sqlValue])
        guard let row else { throw StoreError(.notFound, "there is no run \(id).") }
        return RunRemoval.Item(
            runID: id, name: try row.get("name"), parentRunID: try row.get("parent_run_id"),
            epochs: try row.get("epochs"), checkpoints: try row.get("checkpoints"),
            evaluations: try row.get("evaluations"), checkpointBytes: try row.get("bytes"))
    }

    // MARK: - Pruning checkpoints

    /// What `pruneCheckpoints` would delete, read without writing.
    public func pruningPlan(_ runIDs: [Int64]?, keepEvery: Int?) throws -> CheckpointPruning {
        try attempt("Cannot prune checkpoints in \(location)") {
            try read { db in try planPruning(db, runIDs, keepEvery: keepEvery) }
        }
    }

    /// Deletes, in one transaction, the checkpoints of the runs (every run when nil) that the
    /// retention rule does not keep: kept are each run's best epoch, its latest checkpoint,
    /// every epoch a fork started from and, when `keepEvery` is given, every multiple of
    /// it. Live runs are pruned too: their trainer needs none of the dropped checkpoints, and
    /// its next epoch commit waits for this transaction.
    @discardableResult
    public func pruneCheckpoints(_ runIDs: [Int64]?, keepEvery: Int?) throws -> CheckpointPruning {
        try attempt("Cannot prune checkpoints in \(location)") {
            let plan = try write { db in
                let plan = try planPruning(db, runIDs, keepEvery: keepEvery)
                for item in plan.runs where !item.dropped.isEmpty {
                    try lockCheckpoints(ofRun: item.runID, db)
                    try db.execute(
                        Self.pruneCheckpoints, [item.runID.sqlValue, keepEvery.sqlValue])
                }
                return plan
            }
            if plan.droppedCount > 0 { reclaimCheckpointSpace() }
            return plan
        }
    }

    private func planPruning(_ db: any SQLConnection, _ runIDs: [Int64]?, keepEvery: Int?) throws
        -> CheckpointPruning
    {
        if let keepEvery, keepEvery < 1 {
            throw StoreError(.invalidArgument, "keepEvery must be at least 1; got \(keepEvery).")
        }
        let ids: [Int64]
        if let runIDs {
            try requireRuns(db, runIDs)
            ids = Array(Set(runIDs)).sorted()
        } else {
            ids = try db.fetch("SELECT DISTINCT run_id FROM checkpoints ORDER BY run_id")
                .map { try $0.get("run_id") }
        }
        return CheckpointPruning(
            runs: try ids.map { id in
                let arguments = [id.sqlValue, keepEvery.sqlValue]
                let dropped = try db.fetch(
                    """
                    SELECT epoch, \(Self.checkpointBytes) AS bytes FROM checkpoints
                    WHERE \(Self.droppableCheckpoint) ORDER BY epoch
                    """, arguments)
                let all: [Int] = try db.fetch(
                    "SELECT epoch FROM checkpoints WHERE run_id = ? ORDER BY epoch", [id.sqlValue]
                ).map { try $0.get("epoch") }
                let droppedEpochs: [Int] = try dropped.map { try $0.get("epoch") }
                let droppedSet = Set(droppedEpochs)
                let facts = try db.fetchOne(
                    """
                    SELECT r.name, s.best_epoch FROM runs AS r
                    LEFT JOIN run_stats AS s ON s.run_id = r.id WHERE r.id = ?
                    """, [id.sqlValue])
                return CheckpointPruning.Item(
                    runID: id, name: try facts?.get("name") ?? "", dropped: droppedEpochs,
                    kept: all.filter { !droppedSet.contains($0) },
                    droppedBytes: try dropped.reduce(0) { $0 + (try $1.get("bytes") as Int64) },
                    bestEpoch: try facts.flatMap { try $0.get("best_epoch") as Int? }, lastEpoch: all.last,
                    forkEpochs: try db.fetch(
                        """
                        SELECT DISTINCT parent_epoch FROM runs
                        WHERE parent_run_id = ? ORDER BY parent_epoch
                        """, [id.sqlValue]
                    ).map { try $0.get("parent_epoch") })
            })
    }

    // MARK: - Space

    /// The bytes a checkpoint row's blobs take.
    static let checkpointBytes = "length(weights) + coalesce(length(velocity), 0)"

    /// The runs whose checkpoints take the most space, largest first.
    public func checkpointSpace(limit: Int = 10) throws -> [CheckpointSpace] {
        try attempt("Cannot read the checkpoint space of \(location)") {
            try read { db in
                try db.fetch(
                    """
                    SELECT c.run_id, r.name, c.checkpoints, c.bytes
                    FROM (SELECT run_id, count(*) AS checkpoints,
                                 sum(\(Self.checkpointBytes)) AS bytes
                          FROM checkpoints GROUP BY run_id) AS c
                    JOIN runs AS r ON r.id = c.run_id
                    ORDER BY c.bytes DESC, c.run_id LIMIT ?
                    """, [limit.sqlValue]
                ).map {
                    CheckpointSpace(
                        runID: try $0.get("run_id"), name: try $0.get("name"),
                        checkpoints: try $0.get("checkpoints"), bytes: try $0.get("bytes"))
                }
            }
        }
    }

    /// Gives the space of deleted rows back (SQLite: the write-ahead log folded in and the
    /// file rebuilt; PostgreSQL: VACUUM). Refused, changing nothing, while any run is live,
    /// so that it never races a trainer; a writer that starts meanwhile waits for it.
    public func vacuum() throws -> Vacuum {
        try attempt("Cannot vacuum \(location)") {
            guard !isReadOnly else {
                throw StoreError(.notWritable, "the database was opened read-only.")
            }
            let live = try read { db in try liveRuns(db) }
            if !live.isEmpty { throw StoreError.live(live, action: "Cannot vacuum \(location)") }
            let before = try engine.sizeBytes()
            // Through the gate as a write: SQLite's VACUUM holds the write lock throughout.
            try WriteGate.shared.passing { try engine.vacuum() }
            return Vacuum(bytesBefore: before, bytesAfter: try engine.sizeBytes())
        }
    }

    // MARK: - Inside transactions

    /// Throws `.notFound` for the first of `runIDs` that doesn't exist.
    func requireRuns(_ db: any SQLConnection, _ runIDs: [Int64]) throws {
        for id in runIDs where try !db.exists("SELECT 1 FROM runs WHERE id = ?", [id.sqlValue]) {
            throw StoreError(.notFound, "there is no run \(id).")
        }
    }

    /// The runs live processes hold: run_summary's rule (status 'running' and a lease not
    /// expired) and, on this machine, a process that still exists (`Store.live`).
    func liveRuns(_ db: any SQLConnection) throws -> [Run] {
        try db.fetch(
            """
            SELECT * FROM run_summary
            WHERE id IN (SELECT id FROM runs WHERE status = 'running') ORDER BY id
            """
        ).map { Self.live(try $0.decode(RunSummary.self)) }.filter { $0.run.status == .running }.map(\.run)
    }
}
