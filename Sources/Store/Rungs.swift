/// Sweeps that decide their own jobs (ASHA's promotions, TPE's proposals): the store's side.
/// The decision itself is a pure function the caller passes in (Sweeps' `Promotion` and
/// `TreeParzenEstimator`); the store reads the sweep's state and applies the decision in one
/// write transaction that holds the sweep's lock, so two workers never promote the same trial
/// or propose from the same state, and each write is fenced by the trial's claim token.
import Foundation

/// A row of `trial_rungs`: a rung an ASHA trial reached.
public struct TrialRung: Codable, Sendable, Equatable {
    public var trialID: Int64
    public var rung: Int
    /// The rung's epoch.
    public var epoch: Int
    /// Validation loss at that epoch: what the promotion rule ranks.
    public var valLoss: Double
    public var reachedAt: String
    /// When a worker promoted the trial from this rung to the next; nil: not promoted.
    public var promotedAt: String?

    enum CodingKeys: String, CodingKey {
        case trialID = "trial_id"
        case rung, epoch
        case valLoss = "val_loss"
        case reachedAt = "reached_at"
        case promotedAt = "promoted_at"
    }
}

/// A sweep as a decision needs it: the sweep, its trials in number order, every rung they
/// reached, and each finished trial's best validation loss (by trial id).
public struct SweepState: Sendable, Equatable {
    public var sweep: SweepRecord
    public var trials: [TrialRecord]
    public var rungs: [TrialRung]
    public var bestValLoss: [Int64: Double]

    /// Whether a sweep of `size` trials with these `trials` has work left: trials to add,
    /// start, train or promote (what its page follows live).
    public static func isOpen(trials: [TrialRecord], size: Int) -> Bool {
        trials.count < size || trials.contains { [.pending, .running, .paused].contains($0.status) }
    }
}

/// What a worker does next in a sweep that decides its jobs.
public enum SweepJob: Sendable, Equatable {
    /// Resume this paused trial's run from rung `fromRung` (the claim marks it promoted).
    case promote(trialID: Int64, fromRung: Int)
    /// Start this pending trial.
    case start(trialID: Int64)
    /// Add the sweep's next trial with these settings and start it (TPE: proposed now, from
    /// the results so far).
    case add(settings: String)
    /// Nothing now; trials are training.
    case wait
    /// The sweep is over: these paused trials are pruned.
    case finish(pruned: [Int64])
}

extension Store {
    /// Claims the next job of sweep `sweepID` as `decide` chooses it from the sweep's state,
    /// in one transaction holding the sweep's lock: nil when the decision is to wait or the
    /// sweep is over (its paused trials then pruned in the same transaction).
    public func claimSweepJob(
        sweepID: Int64, leaseSeconds: Double, decide: (SweepState) throws -> SweepJob
    ) throws -> TrialClaim? {
        try attempt("Cannot claim a trial of sweep \(sweepID) in \(location)") {
            let lease = Lease(runID: 0, seconds: leaseSeconds)
            let worker = "\(Lease.hostName):\(getpid())"
            return try write { db -> TrialClaim? in
                // The sweep's decisions one at a time (SQLite's write lock does this already).
                try engine.lock("sweep \(sweepID)", db)
                let state = try sweepState(sweepID, db)
                let id: Int64
                switch try decide(state) {
                case .wait:
                    return nil
                case .finish(let pruned):
                    for trial in pruned {
                        try db.execute(
                            "UPDATE trials SET status = 'pruned' WHERE id = ? AND status = 'paused'",
                            [trial.sqlValue])
                    }
                    return nil
                case .promote(let trial, let rung):
                    let marked = try db.execute(
                        """
                        UPDATE trial_rungs SET promoted_at = \(dialect.now)
                        WHERE trial_id = ? AND rung = ? AND promoted_at IS NULL
                        """, [trial.sqlValue, rung.sqlValue])
                    guard marked > 0 else {
                        throw StoreError(.invalidArgument, "trial \(trial) is not at rung \(rung) unpromoted.")
                    }
                    id = trial
                case .start(let trial):
                    id = trial
                case .add(let settings):
                    id = try nextID(in: "trials", lockedAs: "sweeps", db)
                    let number = (state.trials.map(\.number).max() ?? 0) + 1
                    try db.execute(
                        "INSERT INTO trials (id, sweep_id, number, settings) VALUES (?, ?, ?, ?)",
                        [id.sqlValue, sweepID.sqlValue, number.sqlValue, settings.sqlValue])
                }
                // A promotion is a new leg of training: its attempts count from 1 again.
                let claimed = try db.execute(
                    """
                    UPDATE trials SET status = 'running', worker = ?, worker_token = ?,
                        lease_expires_at = \(dialect.expiry(leaseSeconds)),
                        attempts = CASE WHEN status = 'paused' THEN 1 ELSE attempts + 1 END
                    WHERE id = ? AND sweep_id = ? AND status IN ('pending', 'paused')
                    """,
                    [worker.sqlValue, lease.token.sqlValue, id.sqlValue, sweepID.sqlValue])
                guard claimed > 0,
                    let row = try db.fetchOne("SELECT * FROM trials WHERE id = ?", [id.sqlValue])
                else { throw StoreError(.invalidArgument, "trial \(id) of sweep \(sweepID) is not free.") }
                return TrialClaim(trial: try row.decode(), token: lease.token)
            }
        }
    }

    /// Records that `claim`'s trial reached `rung` at `epoch` (its run's validation loss there
    /// becomes the rung's metric) and ends the claim in one transaction: paused there, or
    /// completed at the last rung (`last`). Throws `.trialLost`, writing nothing, if another
    /// worker has claimed the trial since.
    public func reachRung(_ claim: TrialClaim, rung: Int, epoch: Int, last: Bool) throws {
        try attempt("Cannot record rung \(rung) of trial \(claim.trial.number) of sweep \(claim.trial.sweepID) in \(location)") {
            try write { db in
                // After every decision of the sweep before it (`claimSweepJob` holds the same
                // lock), so that the rung's reached_at is later than each promotion made
                // without it, and earlier than each made with it.
                try engine.lock("sweep \(claim.trial.sweepID)", db)
                let settled = try db.execute(
                    """
                    UPDATE trials SET status = ?, rung = ?, failure_reason = NULL, worker = NULL,
                        worker_token = NULL, lease_expires_at = NULL
                    WHERE id = ? AND worker_token = ?
                    """,
                    [(last ? "completed" : "paused").sqlValue, rung.sqlValue,
                     claim.trial.id.sqlValue, claim.token.sqlValue])
                guard settled > 0 else { throw StoreError.trialLost(claim.trial) }
                let inserted = try db.execute(
                    """
                    INSERT INTO trial_rungs (trial_id, rung, epoch, val_loss, reached_at)
                    SELECT t.id, ?, e.epoch, e.val_loss, \(dialect.now)
                    FROM trials AS t JOIN epochs AS e ON e.run_id = t.run_id AND e.epoch = ?
                    WHERE t.id = ?
                    """,
                    [rung.sqlValue, epoch.sqlValue, claim.trial.id.sqlValue])
                guard inserted > 0 else {
                    throw StoreError(.notFound, "trial \(claim.trial.number) of sweep \(claim.trial.sweepID) has no epoch \(epoch) recorded.")
                }
            }
        }
    }

    /// The sweep's state as `claimSweepJob` gives it to its decision, read outside one.
    public func sweepState(id: Int64) throws -> SweepState? {
        try attempt("Cannot read sweep \(id) from \(location)") {
            try read { db in
                try db.exists("SELECT 1 FROM sweeps WHERE id = ?", [id.sqlValue])
                    ? try sweepState(id, db) : nil
            }
        }
    }

    // MARK: - Inside transactions

    func sweepState(_ sweepID: Int64, _ db: any SQLConnection) throws -> SweepState {
        guard let sweep = try db.fetchOne("SELECT * FROM sweeps WHERE id = ?", [sweepID.sqlValue])
        else { throw StoreError(.notFound, "there is no sweep \(sweepID).") }
        let trials = try db.fetch(
            "SELECT * FROM trials WHERE sweep_id = ? ORDER BY number", [sweepID.sqlValue]
        ).map { try $0.decode(TrialRecord.self) }
        let rungs = try db.fetch(
            """
            SELECT g.* FROM trial_rungs AS g JOIN trials AS t ON t.id = g.trial_id
            WHERE t.sweep_id = ? ORDER BY t.number, g.rung
            """, [sweepID.sqlValue]
        ).map { try $0.decode(TrialRung.self) }
        var best: [Int64: Double] = [:]
        for row in try db.fetch(
            """
            SELECT t.id, s.best_val_loss FROM trials AS t JOIN run_stats AS s ON s.run_id = t.run_id
            WHERE t.sweep_id = ? AND t.status = 'completed' AND s.best_val_loss IS NOT NULL
            """, [sweepID.sqlValue])
        {
            best[try row.get("id")] = try row.get("best_val_loss")
        }
        return SweepState(sweep: try sweep.decode(), trials: trials, rungs: rungs, bestValLoss: best)
    }
}
