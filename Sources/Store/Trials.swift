/// A sweep's trials: grid points that workers claim atomically, train as one run each and
/// finish, fenced by a claim token like a run's lease (see Ownership.swift). A trial is free to
/// claim while pending, or while running with no live holder: its own lease has expired and so
/// has its run's (the worker died, or its machine); the next worker then resumes that same run.
import Foundation

/// A row of `trials`.
public struct TrialRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, running, paused, completed, pruned, failed
    }

    public var id: Int64
    public var sweepID: Int64
    /// Position in the grid, from 1.
    public var number: Int
    /// What the trial trains: the run's settings as versioned JSON (Sweeps' `TrialSettings`),
    /// opaque to the store.
    public var settings: String
    public var status: Status
    public var runID: Int64?
    /// Claims so far: 1, plus one per takeover or retry.
    public var attempts: Int
    /// "host:pid" of the worker holding it.
    public var worker: String?
    public var workerToken: String?
    public var leaseExpiresAt: String?
    public var failureReason: String?
    /// The batch job of the worker that holds or last held it (migration 0013).
    public var jobID: Int64?
    public var arrayJobID: Int64?
    public var arrayTaskID: Int64?
    public var node: String?

    /// That batch job, nil when its worker ran outside one.
    public var job: SchedulerJob? {
        jobID.map {
            SchedulerJob(jobID: $0, arrayJobID: arrayJobID, arrayTaskID: arrayTaskID, node: node)
        }
    }

    /// ASHA: the last rung the trial reached (0 first); nil before its first, or without ASHA.
    public var rung: Int?

    enum CodingKeys: String, CodingKey {
        case id
        case sweepID = "sweep_id"
        case number, settings, status
        case runID = "run_id"
        case attempts, worker
        case workerToken = "worker_token"
        case leaseExpiresAt = "lease_expires_at"
        case failureReason = "failure_reason"
        case jobID = "job_id"
        case arrayJobID = "array_job_id"
        case arrayTaskID = "array_task_id"
        case node
        case rung
    }
}

extension TrialRecord.Status: SQLDecodable {}


/// A worker's hold on a trial, from `claimTrial` to `finishTrial`.
public struct TrialClaim: Sendable, Equatable {
    public let trial: TrialRecord
    public let token: String
}

/// How many trials of a sweep are in each state, and who holds the running ones.
public struct SweepProgress: Sendable, Equatable {
    public var sweep: SweepRecord
    /// Pending trials, and running ones that no live worker holds any more (their worker
    /// died): the next worker takes either at once.
    public var pending = 0
    /// Trials a live worker holds (the `live_trials` view's rule).
    public var running = 0
    public var completed = 0
    public var failed = 0
    /// ASHA: waiting at a rung to be promoted, and left at one when the sweep ended.
    public var paused = 0
    public var pruned = 0
    /// "host:pid" of the workers holding running trials.
    public var workers: [String] = []
    /// Summed wall time and count of the epochs its runs recorded, for an estimate of the
    /// time left.
    public var secondsSoFar: Double = 0
    public var epochsDone = 0

    /// Nothing left to train: a paused trial may still be promoted (or is pruned at the end).
    public var isFinished: Bool { pending == 0 && running == 0 && paused == 0 }
}

extension Store {
    /// Records a new sweep over `grid` (JSON text) with one pending trial per settings text
    /// that `trials` gives for the sweep's id, numbered from 1, in one transaction. Two equal
    /// settings are one grid point: `.invalidArgument`. `search` is how it searches beyond
    /// them; a TPE sweep's `size` is larger than the trials written now, the rest being added
    /// as they are proposed (`claimSweepJob`).
    public func createSweep(
        grid: String, search: SweepSearch = SweepSearch(), size: Int? = nil,
        trials: (Int64) -> [String]
    ) throws -> SweepRecord {
        try attempt("Cannot create a sweep in \(location)") {
            try write { db in
                let id = try nextID(in: "sweeps", db)
                let settings = trials(id)
                guard !settings.isEmpty else {
                    throw StoreError(.invalidArgument, "a sweep needs at least one trial.")
                }
                guard Set(settings).count == settings.count else {
                    throw StoreError(.invalidArgument, "the sweep lists one grid point twice.")
                }
                let sweep = SweepRecord(
                    id: id, createdAt: try databaseNow(db).now, grid: grid,
                    size: max(size ?? 0, settings.count), uid: UUID().uuidString.lowercased(),
                    search: search)
                try db.insert(sweep, into: SweepRecord.table)
                // Trial ids too are max + 1, under the same lock.
                let first = try nextID(in: "trials", lockedAs: "sweeps", db)
                for (k, text) in settings.enumerated() {
                    try db.execute(
                        "INSERT INTO trials (id, sweep_id, number, settings) VALUES (?, ?, ?, ?)",
                        [(first + Int64(k)).sqlValue, id.sqlValue, (k + 1).sqlValue, text.sqlValue])
                }
                return sweep
            }
        }
    }

    /// Takes the next free trial, of sweep `sweepID` or of any sweep, atomically: pending
    /// ones in grid order first (but not those of a sweep that decides its jobs, ASHA's or
    /// TPE's: `claimSweepJob`), then running ones whose holder is gone (not in the
    /// `live_trials` view: its trial lease and its run's lease both expired, or
    /// `releaseAbandonedRuns` found its worker dead on this machine). Nil when none is free.
    /// Racing workers each get another trial: claims wait for each other, each reading
    /// `live_trials` after the one before it committed.
    /// `job`: the batch job this worker runs in, recorded on the trial (nil: none).
    public func claimTrial(
        sweepID: Int64?, leaseSeconds: Double, job: SchedulerJob? = nil
    ) throws -> TrialClaim? {
        try attempt("Cannot claim a trial in \(location)") {
            let lease = Lease(runID: 0, seconds: leaseSeconds)
            let worker = "\(Lease.hostName):\(getpid())"
            return try write { db -> TrialClaim? in
                try engine.lock("claims of trials", db)
                guard
                    let id = try db.scalar(
                        """
                        SELECT t.id FROM trials AS t
                        WHERE (CAST(?1 AS BIGINT) IS NULL OR t.sweep_id = ?1)
                          AND ((t.status = 'pending' AND NOT EXISTS (
                                  SELECT 1 FROM sweeps AS w WHERE w.id = t.sweep_id
                                  AND (w.reduction_factor IS NOT NULL OR w.tpe_startup IS NOT NULL)))
                               OR (t.status = 'running'
                                   AND t.id NOT IN (SELECT id FROM live_trials)))
                        ORDER BY t.status = 'running', t.sweep_id, t.number LIMIT 1
                        \(dialect.skipLocked)
                        """,
                        [sweepID.sqlValue], as: Int64.self)
                else { return nil }
                try db.execute(
                    """
                    UPDATE trials SET status = 'running', worker = ?, worker_token = ?,
                        lease_expires_at = \(dialect.expiry(leaseSeconds)), attempts = attempts + 1,
                        job_id = ?, array_job_id = ?, array_task_id = ?, node = ?
                    WHERE id = ?
                    """,
                    [
                        worker.sqlValue, lease.token.sqlValue, job?.jobID.sqlValue ?? .null,
                        job?.arrayJobID.sqlValue ?? .null, job?.arrayTaskID.sqlValue ?? .null,
                        job?.node.sqlValue ?? .null, id.sqlValue,
                    ])
                guard
                    let trial = try db.fetchOne("SELECT * FROM trials WHERE id = ?", [id.sqlValue])
                else { return nil }
                return TrialClaim(trial: try trial.decode(), token: lease.token)
            }
        }
    }

    /// Ends `claim`'s hold on its trial with `status`: `.pending` gives it back (for another
    /// worker to continue at once), `.completed` or `.failed` settle it. Throws `.trialLost`,
    /// writing nothing, if another worker has claimed the trial since.
    public func finishTrial(
        _ claim: TrialClaim, status: TrialRecord.Status, reason: String? = nil
    ) throws {
        try attempt("Cannot mark trial \(claim.trial.number) of sweep \(claim.trial.sweepID) \(status.rawValue) in \(location)") {
            try write { db in
                let finished = try db.execute(
                    """
                    UPDATE trials SET status = ?, failure_reason = ?, worker = NULL,
                        worker_token = NULL, lease_expires_at = NULL
                    WHERE id = ? AND worker_token = ?
                    """,
                    [status.rawValue.sqlValue, reason.sqlValue, claim.trial.id.sqlValue, claim.token.sqlValue])
                guard finished > 0 else { throw StoreError.trialLost(claim.trial) }
            }
        }
    }

    /// The sweep's trials in grid order, each as it really is (`shownStatus`): a running
    /// trial no live worker holds reads pending, with no worker.
    public func trials(sweepID: Int64) throws -> [TrialRecord] {
        try attempt("Cannot read the trials of sweep \(sweepID) from \(location)") {
            try read { db in
                try db.fetch(
                    """
                    SELECT t.*, CASE WHEN t.id IN (SELECT id FROM live_trials) THEN 1 ELSE 0 END AS live
                    FROM trials AS t WHERE t.sweep_id = ? ORDER BY t.number
                    """, [sweepID.sqlValue]
                ).map { row in
                    var trial = try row.decode(TrialRecord.self)
                    let held = (try row.get("live") as Int) == 1 && !Self.workerDiedOnThisHost(trial.worker)
                    trial.status = Self.shownStatus(trial.status.rawValue, held: held)
                    if !held { trial.worker = nil }
                    return trial
                }
            }
        }
    }

    /// Every sweep (or the one with `id`), newest first, with its trials' progress.
    public func sweepProgress(id: Int64? = nil) throws -> [SweepProgress] {
        try attempt("Cannot read the sweeps of \(location)") {
            try read { db in
                let sweeps = try db.fetch(
                    "SELECT * FROM sweeps WHERE CAST(?1 AS BIGINT) IS NULL OR id = ?1 ORDER BY id DESC", [id.sqlValue]
                ).map { try $0.decode(SweepRecord.self) }
                return try sweeps.map { sweep in
                    var progress = SweepProgress(sweep: sweep)
                    let rows = try db.fetch(
                        """
                        SELECT t.status, t.worker, s.epochs_done, s.total_seconds,
                            CASE WHEN t.id IN (SELECT id FROM live_trials) THEN 1 ELSE 0 END AS live
                        FROM trials AS t LEFT JOIN run_stats AS s ON s.run_id = t.run_id
                        WHERE t.sweep_id = ?
                        """,
                        [sweep.id.sqlValue])
                    for row in rows {
                        let worker: String? = try row.get("worker")
                        let held = (try row.get("live") as Int) == 1 && !Self.workerDiedOnThisHost(worker)
                        switch Self.shownStatus(try row.get("status"), held: held) {
                        case .pending: progress.pending += 1
                        case .running: progress.running += 1
                        case .completed: progress.completed += 1
                        case .failed: progress.failed += 1
                        case .paused: progress.paused += 1
                        case .pruned: progress.pruned += 1
                        }
                        if held, let worker { progress.workers.append(worker) }
                        progress.epochsDone += try row.get("epochs_done") ?? 0
                        progress.secondsSoFar += try row.get("total_seconds") ?? 0
                    }
                    // A TPE sweep adds its trials as it proposes them: those to come are pending.
                    progress.pending += max(0, sweep.size - rows.count)
                    progress.workers = Array(Set(progress.workers)).sorted()
                    return progress
                }
            }
        }
    }

    /// A trial's status as readers show it: a running trial that no live worker holds (not
    /// in `live_trials`, or its worker on this machine is gone) waits for the next worker,
    /// which takes it over at once: pending.
    static func shownStatus(_ status: String, held: Bool) -> TrialRecord.Status {
        let recorded = TrialRecord.Status(rawValue: status) ?? .pending
        return recorded == .running && !held ? .pending : recorded
    }

    // MARK: - Inside transactions

    /// Links the run being created to the trial `claim` holds, or throws `.trialLost`.
    func attach(runID: Int64, to claim: TrialClaim, _ db: any SQLConnection) throws {
        let attached = try db.execute(
            "UPDATE trials SET run_id = ? WHERE id = ? AND worker_token = ? AND run_id IS NULL",
            [runID.sqlValue, claim.trial.id.sqlValue, claim.token.sqlValue])
        guard attached > 0 else { throw StoreError.trialLost(claim.trial) }
    }
}

extension StoreError {
    static func trialLost(_ trial: TrialRecord) -> StoreError {
        StoreError(
            .trialLost(sweepID: trial.sweepID, number: trial.number),
            "another worker has claimed trial \(trial.number) of sweep \(trial.sweepID) since.")
    }
}
