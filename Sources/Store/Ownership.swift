/// One owner per run: the lease. A process that trains a run holds it through a random owner
/// token and a lease expiry written with the database's clock; it renews the lease with every
/// epoch commit and in between, and every write it makes to the run checks the token in the
/// same transaction. A run whose lease has expired is not running, whatever its status column
/// says: `run_summary` shows it interrupted (a read, no write), and anyone may claim it.
///
/// On the same machine a dead owner is found sooner: its pid no longer exists. Readers apply
/// that to what they return; writers record it (`releaseAbandonedRuns`).
import Foundation

/// A process's hold on a run, from `createRun` or `claimRun` until `finishRun`.
public struct Lease: Sendable, Equatable {
    public let runID: Int64
    /// Random, unique to this claim: a later claim by anyone (this process included) differs.
    public let token: String
    /// How long the run stays held without a renewal.
    public let seconds: Double

    init(runID: Int64, seconds: Double) {
        self.runID = runID
        self.token = UUID().uuidString.lowercased()
        self.seconds = seconds
    }

    /// How often a holder renews between epoch commits (`Timeouts.renewal`).
    public var renewalInterval: Double { Timeouts.renewal(lease: seconds) }

    /// The host name written beside the pid of the process holding a run.
    static let hostName = ProcessInfo.processInfo.hostName
}


/// What a claim may change in the run's row besides its ownership: what the run will do is
/// what its row says.
public struct RunUpdate: Sendable, Equatable {
    /// The planned last epoch.
    public var epochs: Int
    public var keepEvery: Int
    public var datasetPath: String
    /// Settings that only a run without recorded epochs may change (nothing was computed
    /// with the old ones); nil keeps the recorded value.
    public var learningRate: Double?
    public var batchSize: Int?
    public var momentum: Double?
    public var name: String?

    public init(epochs: Int, keepEvery: Int, datasetPath: String) {
        self.epochs = epochs
        self.keepEvery = keepEvery
        self.datasetPath = datasetPath
    }
}

extension StoreError {
    /// `.runHeld` for a run that a live process holds.
    public static func held(_ run: Run) -> StoreError {
        StoreError(
            .runHeld(
                RunHolder(
                    runID: run.id, pid: run.pid, host: run.host,
                    leaseExpiresAt: run.leaseExpiresAt)),
            "it is being trained by process \(run.pid.map(String.init) ?? "?") on "
                + "\(run.host ?? "?") (lease until \(run.leaseExpiresAt ?? "?")).",
            action: "Cannot claim run \(run.id)")
    }
}

extension Store {
    /// Starts a run held by this process: status 'running', created now. A fork
    /// (`parentRunID` and `parentEpoch`) needs the parent's checkpoint at that epoch.
    /// `trial`: the sweep trial this run is created for, which it is linked to in the same
    /// transaction (`.trialLost` if another worker has claimed that trial since).
    public func createRun(
        _ new: NewRun, leaseSeconds: Double, for trial: TrialClaim? = nil
    ) throws -> (Run, Lease) {
        try attempt("Cannot create run in \(location)") {
            try write { db in try insertRun(new, leaseSeconds: leaseSeconds, for: trial, db) }
        }
    }

    /// `createRun` inside the current transaction.
    private func insertRun(
        _ new: NewRun, leaseSeconds: Double, for trial: TrialClaim?, _ db: any SQLConnection
    ) throws -> (Run, Lease) {
        if let parent = new.parentRunID {
            try requireForkPoint(db, runID: parent, epoch: new.parentEpoch)
        }
        if let sweep = new.sweepID,
            try !db.exists("SELECT 1 FROM sweeps WHERE id = ?", [.integer(sweep)])
        {
            throw StoreError(.notFound, "there is no sweep \(sweep).")
        }
        // The id is chosen here rather than by the database so that the default name
        // can use it.
        let id = try nextID(in: "runs", db)
        let lease = Lease(runID: id, seconds: leaseSeconds)
        let clock = try databaseNow(db, leaseSeconds: leaseSeconds)
        let run = Run(id: id, new: new, now: clock.now, lease: lease, expiresAt: clock.expiry)
        try db.insert(run, into: Run.table)
        if let trial { try attach(runID: id, to: trial, db) }
        return (run, lease)
    }

    /// Starts a fork of run `new.parentRunID`, held by this process, from the epoch `pick`
    /// chooses from the parent's summary, in one transaction with reading that epoch's
    /// checkpoint: a trainer still recording the parent waits (`recordEpoch` takes the same
    /// lock), and once the fork exists its retention keeps that checkpoint. Creates nothing
    /// (no `fork`, only what was read) when `pick` chooses no epoch or that epoch kept no
    /// checkpoint.
    public func createFork(
        _ new: NewRun, leaseSeconds: Double, picking pick: (RunSummary) -> Int?
    ) throws -> (from: PickedCheckpoint, fork: (run: Run, lease: Lease)?) {
        try attempt("Cannot create run in \(location)") {
            guard let parent = new.parentRunID else {
                throw StoreError(.invalidArgument, "a fork needs the run it starts from.")
            }
            return try write { db in
                try lockCheckpoints(ofRun: parent, db)
                guard let picked = try pickCheckpoint(db, runID: parent, pick) else {
                    throw StoreError(.notFound, "there is no run \(parent).")
                }
                guard let epoch = picked.epoch, picked.checkpoint != nil else { return (picked, nil) }
                var fork = new
                fork.parentEpoch = epoch
                let (run, lease) = try insertRun(fork, leaseSeconds: leaseSeconds, for: nil, db)
                return (picked, (run, lease))
            }
        }
    }

    /// Takes run `id` for this process, atomically: only if no live process holds it (it is
    /// not in the `live_runs` view: its status is not 'running', or its lease has expired).
    /// Applies `update` in the same transaction. Throws `.runHeld` naming the holder
    /// otherwise, changing nothing.
    public func claimRun(id: Int64, update: RunUpdate, leaseSeconds: Double) throws -> (Run, Lease) {
        try attempt("Cannot claim run \(id) in \(location)") {
            let lease = Lease(runID: id, seconds: leaseSeconds)
            return try write { db in
                // Claims of this run wait for each other, so that each reads live_runs after
                // the one before it committed (a condition read through a view is not checked
                // again on PostgreSQL when a racing UPDATE of the row commits first).
                try engine.lock("claim of run \(id)", db)
                let claimed = try db.execute(
                    """
                    UPDATE runs SET status = 'running', finished_at = NULL,
                        failure_reason = NULL, owner_token = ?1, pid = ?2, host = ?3,
                        heartbeat_at = \(dialect.now),
                        lease_expires_at = \(dialect.expiry(leaseSeconds)),
                        epochs = ?4, keep_every = ?5, dataset_path = ?6,
                        learning_rate = coalesce(?7, learning_rate),
                        batch_size = coalesce(?8, batch_size),
                        momentum = coalesce(?9, momentum),
                        name = coalesce(?10, name)
                    WHERE id = ?11 AND id NOT IN (SELECT id FROM live_runs)
                    """,
                    [
                        lease.token.sqlValue, Int64(getpid()).sqlValue, Lease.hostName.sqlValue,
                        update.epochs.sqlValue, update.keepEvery.sqlValue,
                        update.datasetPath.sqlValue, update.learningRate.sqlValue,
                        update.batchSize.sqlValue, update.momentum.sqlValue,
                        update.name.sqlValue, id.sqlValue,
                    ])
                guard let run = try Run.fetch(db, id: id) else {
                    throw StoreError(.notFound, "there is no run \(id).")
                }
                guard claimed > 0 else { throw StoreError.held(run) }
                return (run, lease)
            }
        }
    }

    /// Extends the lease from now, as a sign of life between epoch commits.
    /// Throws `.leaseLost` if another process has claimed the run since.
    public func renewLease(_ lease: Lease) throws {
        try attempt("Cannot renew the lease on run \(lease.runID) in \(location)") {
            try write { db in try renew(lease, db) }
        }
    }

    /// Ends the run this process holds: its status, finished_at (none for `.running`), failure
    /// reason, and no holder any more. Throws `.leaseLost` (writing nothing) if another
    /// process has claimed it since.
    public func finishRun(_ lease: Lease, status: Run.Status, reason: String? = nil) throws {
        try attempt("Cannot mark run \(lease.runID) \(status.rawValue) in \(location)") {
            try write { db in
                let finished = try db.execute(
                    """
                    UPDATE runs SET status = ?, finished_at = \(status == .running ? "NULL" : dialect.now),
                        failure_reason = ?, heartbeat_at = \(dialect.now), owner_token = NULL,
                        lease_expires_at = NULL
                    WHERE id = ? AND owner_token = ?
                    """,
                    [
                        status.rawValue.sqlValue, reason.sqlValue, lease.runID.sqlValue,
                        lease.token.sqlValue,
                    ])
                try requireHeld(db, lease, changed: finished)
            }
        }
        reclaimWaitingCheckpointSpace()
    }

    /// Records, for every run shown as running on this machine whose process is gone, what
    /// became of it: `completed` when its last planned epoch was committed (only the status
    /// update was lost), else `interrupted`. Each update checks the holder's token, so a run
    /// claimed again meanwhile is left alone. Returns the ids released.
    ///
    /// Sweep trials held by a worker of this machine that is gone are given back too: pending
    /// again with no holder (checking the worker's token), as readers already show them, so
    /// that the next worker takes them over at once rather than when the lease would have run
    /// out, and `trials.status` says what they are.
    @discardableResult
    public func releaseAbandonedRuns() throws -> [Int64] {
        try attempt("Cannot release abandoned runs in \(location)") {
            let abandoned = try read { db in
                try db.fetch("SELECT * FROM runs WHERE status = 'running'").map { try $0.decode(Run.self) }
            }.filter(Self.diedOnThisHost)
            let released = try abandoned.compactMap { run -> Int64? in
                // What readers already show it as (`live`): the one rule, recorded.
                guard let ended = try summary(runID: run.id)?.run.status else { return nil }
                let reason =
                    ended == .completed
                    ? nil : "process \(run.pid.map(String.init) ?? "?") ended without closing the run"
                return try write { db -> Int64? in
                    let released = try db.execute(
                        """
                        UPDATE runs SET status = ?, failure_reason = ?,
                            finished_at = \(dialect.now), owner_token = NULL,
                            lease_expires_at = NULL
                        WHERE id = ? AND status = 'running' AND owner_token IS NOT DISTINCT FROM ?
                        """,
                        [ended.rawValue.sqlValue, reason.sqlValue, run.id.sqlValue, run.ownerToken.sqlValue])
                    return released > 0 ? run.id : nil
                }
            }
            try releaseAbandonedTrials()
            return released
        }
    }

    /// Gives back every running trial whose worker on this machine is gone.
    private func releaseAbandonedTrials() throws {
        let abandoned = try read { db in
            try db.fetch("SELECT * FROM trials WHERE status = 'running' AND worker IS NOT NULL")
                .map { try $0.decode(TrialRecord.self) }
        }.filter { Self.workerDiedOnThisHost($0.worker) }
        for trial in abandoned {
            try write { db in
                _ = try db.execute(
                    """
                    UPDATE trials SET status = 'pending', worker = NULL, worker_token = NULL,
                        lease_expires_at = NULL
                    WHERE id = ? AND status = 'running' AND worker_token IS NOT DISTINCT FROM ?
                    """, [trial.id.sqlValue, trial.workerToken.sqlValue])
            }
        }
    }

    // MARK: - Inside transactions

    /// Renews `lease` in the current transaction, or throws `.leaseLost`.
    func renew(_ lease: Lease, _ db: any SQLConnection) throws {
        let renewed = try db.execute(
            """
            UPDATE runs SET heartbeat_at = \(dialect.now),
                lease_expires_at = \(dialect.expiry(lease.seconds))
            WHERE id = ? AND owner_token = ? AND status = 'running'
            """,
            [lease.runID.sqlValue, lease.token.sqlValue])
        try requireHeld(db, lease, changed: renewed)
    }

    private func requireHeld(_ db: any SQLConnection, _ lease: Lease, changed: Int) throws {
        guard changed > 0 else {
            guard try db.exists("SELECT 1 FROM runs WHERE id = ?", [lease.runID.sqlValue]) else {
                throw StoreError(.notFound, "there is no run \(lease.runID).")
            }
            throw StoreError(
                .leaseLost(runID: lease.runID),
                "another process has claimed run \(lease.runID) since this one's lease expired.")
        }
    }

    /// Holds run `runID`'s checkpoints until the transaction ends: whoever adds or prunes
    /// them (`recordEpoch`, `pruneCheckpoints`) or forks from one (`createFork`) takes this
    /// lock first, so a fork's choice of epoch and its checkpoint are never pruned apart.
    func lockCheckpoints(ofRun runID: Int64, _ db: any SQLConnection) throws {
        try engine.lock("checkpoints of run \(runID)", db)
    }

    /// The id the next row of `table` gets, max + 1, in the current write transaction: the
    /// engine's lock on `resource` (the table itself unless said) is held until it ends, so
    /// that two processes never choose the same one. Runs, sweeps and trials all get theirs
    /// here, on both engines (PostgreSQL's tables have no sequences, as SQLite's have none).
    func nextID(
        in table: String, lockedAs resource: String? = nil, _ db: any SQLConnection
    ) throws -> Int64 {
        try engine.lock(resource ?? table, db)
        return try db.scalar("SELECT coalesce(max(id), 0) + 1 FROM \(table)") ?? 1
    }

    func requireForkPoint(_ db: any SQLConnection, runID: Int64, epoch: Int?) throws {
        guard try db.exists("SELECT 1 FROM runs WHERE id = ?", [runID.sqlValue]) else {
            throw StoreError(.notFound, "there is no run \(runID).")
        }
        guard let epoch else {
            throw StoreError(.invalidArgument, "a fork of run \(runID) needs a parent epoch.")
        }
        guard
            try db.exists(
                "SELECT 1 FROM checkpoints WHERE run_id = ? AND epoch = ?",
                [runID.sqlValue, epoch.sqlValue])
        else {
            throw StoreError(.notFound, "run \(runID) has no checkpoint at epoch \(epoch) to fork from.")
        }
    }
    // MARK: - Liveness as readers see it

    /// Whether `run` is recorded as running by a process of this machine that no longer
    /// exists (EPERM from kill means it exists, owned by someone else).
    static func diedOnThisHost(_ run: Run) -> Bool {
        diedOnThisHost(status: run.status, host: run.host, pid: run.pid)
    }

    /// Whether `worker` ("host:pid" of a trial's holder) is a process of this machine that no
    /// longer exists.
    static func workerDiedOnThisHost(_ worker: String?) -> Bool {
        guard let worker, let colon = worker.lastIndex(of: ":") else { return false }
        return diedOnThisHost(
            status: .running, host: String(worker[..<colon]),
            pid: Int64(worker[worker.index(after: colon)...]))
    }

    private static func diedOnThisHost(status: Run.Status, host: String?, pid: Int64?) -> Bool {
        guard status == .running, host == Lease.hostName, let pid, pid > 0 else { return false }
        return !(kill(pid_t(pid), 0) == 0 || errno == EPERM)
    }

    /// The status of a run as it really is: `run_summary` already shows a run whose lease
    /// expired as interrupted (or completed); this also shows one whose process on this
    /// machine died before its lease ran out, as run_summary would.
    private static func liveStatus(
        _ status: Run.Status, host: String?, pid: Int64?, lastEpoch: Int?, epochs: Int
    ) -> Run.Status {
        guard diedOnThisHost(status: status, host: host, pid: pid) else { return status }
        return (lastEpoch.map { $0 >= epochs } ?? false) ? .completed : .interrupted
    }

    /// `summary` as it really is (`liveStatus`): a run whose process on this machine died
    /// is not running, and nor is the sweep trial that process held, which waits for the next
    /// worker (pending, as `shownStatus` reads it).
    static func live(_ summary: RunSummary) -> RunSummary {
        var shown = summary
        shown.run.status = liveStatus(
            summary.run.status, host: summary.run.host, pid: summary.run.pid,
            lastEpoch: summary.lastEpoch, epochs: summary.run.epochs)
        if let trial = summary.trialStatus {
            let died = shown.run.status != summary.run.status
            shown.trialStatus = shownStatus(trial.rawValue, held: !died)
        }
        return shown
    }

    /// `listing` as it really is (`liveStatus`).
    static func live(_ listing: RunListing) -> RunListing {
        var shown = listing
        shown.status = liveStatus(
            listing.status, host: listing.host, pid: listing.pid,
            lastEpoch: listing.lastEpoch, epochs: listing.epochs)
        return shown
    }
}
