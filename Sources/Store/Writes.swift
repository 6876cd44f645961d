/// Store's writes: one method per invariant, each one IMMEDIATE transaction.
import Foundation
import GRDB

extension Store {
    /// Starts a run: status 'running', created now, owned by this process (pid, host).
    /// A fork (`parentRunID` and `parentEpoch`) needs the parent's checkpoint at that epoch.
    public func createRun(_ new: NewRun) throws -> Run {
        try attempt("Cannot create run in \(path)") {
            try writeTransaction { db in
                if let parent = new.parentRunID {
                    try requireForkPoint(db, runID: parent, epoch: new.parentEpoch)
                }
                if let sweep = new.sweepID, try !SweepRecord.exists(db, key: sweep) {
                    throw StoreError(.notFound, "there is no sweep \(sweep).")
                }
                // The id is chosen here rather than by SQLite so that the default name can
                // use it; the IMMEDIATE transaction makes max + 1 safe across processes.
                let id = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) + 1 FROM runs") ?? 1
                let run = Run(
                    id: id, new: new, now: Timestamp.now(), pid: Int64(getpid()),
                    host: ProcessInfo.processInfo.hostName)
                try run.insert(db)
                return run
            }
        }
    }

    /// Records a finished epoch in one transaction: its metrics, its checkpoint (if any),
    /// checkpoint retention for the run, and the run's heartbeat.
    ///
    /// Retention keeps, of this run's checkpoints: the best epoch (lowest val_loss, earliest
    /// on ties), the latest checkpoint (so the run can always resume), every epoch with
    /// `epoch % keepEvery == 0`, and every epoch a child run forked from. `keepEvery: 1`
    /// keeps all.
    public func recordEpoch(
        _ epoch: EpochRecord, checkpoint: CheckpointRecord?, keepEvery: Int
    ) throws {
        try attempt("Cannot record epoch \(epoch.epoch) of run \(epoch.runID) in \(path)") {
            guard keepEvery >= 1 else {
                throw StoreError(.invalidArgument, "keepEvery must be at least 1; got \(keepEvery).")
            }
            if let checkpoint, checkpoint.runID != epoch.runID || checkpoint.epoch != epoch.epoch {
                throw StoreError(
                    .invalidArgument,
                    "the checkpoint is for epoch \(checkpoint.epoch) of run \(checkpoint.runID).")
            }
            if let velocity = checkpoint?.velocity, velocity.count != checkpoint?.weights.count {
                throw StoreError(
                    .invalidArgument,
                    "the checkpoint has \(checkpoint?.weights.count ?? 0) weights but "
                        + "\(velocity.count) velocities.")
            }
            let now = Timestamp.now()
            // Encode and checksum before taking the write lock, to keep the lock short.
            let checkpointRow = checkpoint.map { CheckpointRow($0, createdAt: now) }
            try writeTransaction { db in
                try requireRun(db, id: epoch.runID)
                var row = epoch
                row.recordedAt = now
                try row.insert(db)
                try checkpointRow?.insert(db)
                try db.execute(
                    sql: Self.pruneCheckpoints,
                    arguments: ["run": epoch.runID, "keepEvery": keepEvery])
                try db.execute(
                    sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                    arguments: [now, epoch.runID])
            }
        }
    }

    /// Deletes this run's checkpoints outside the retention set (see `recordEpoch`).
    private static let pruneCheckpoints = """
        DELETE FROM checkpoints
        WHERE run_id = :run
          AND epoch % :keepEvery <> 0
          AND epoch <> (SELECT max(epoch) FROM checkpoints WHERE run_id = :run)
          AND epoch IS NOT (SELECT epoch FROM epochs WHERE run_id = :run
                            ORDER BY val_loss, epoch LIMIT 1)
          AND epoch NOT IN (SELECT parent_epoch FROM runs
                            WHERE parent_run_id = :run AND parent_epoch IS NOT NULL)
        """

    /// Ends a run: sets its status, finished_at (cleared for `.running`) and failure reason.
    public func finishRun(id: Int64, status: Run.Status, reason: String? = nil) throws {
        try attempt("Cannot mark run \(id) \(status.rawValue) in \(path)") {
            let now = Timestamp.now()
            try writeTransaction { db in
                try db.execute(
                    sql: """
                        UPDATE runs SET status = ?, finished_at = ?, failure_reason = ?,
                            heartbeat_at = ?
                        WHERE id = ?
                        """,
                    arguments: [status, status == .running ? nil : now, reason, now, id])
                try requireChanged(db, runID: id)
            }
        }
    }

    /// Resumes a run in place: running again in this process, with a new planned total.
    public func markRunning(id: Int64, plannedEpochs: Int) throws {
        try attempt("Cannot resume run \(id) in \(path)") {
            let now = Timestamp.now()
            try writeTransaction { db in
                try db.execute(
                    sql: """
                        UPDATE runs SET status = 'running', finished_at = NULL,
                            failure_reason = NULL, epochs = ?, pid = ?, host = ?, heartbeat_at = ?
                        WHERE id = ?
                        """,
                    arguments: [
                        plannedEpochs, Int64(getpid()), ProcessInfo.processInfo.hostName, now, id,
                    ])
                try requireChanged(db, runID: id)
            }
        }
    }

    /// Records a sign of life for a running run, between epochs that take long.
    public func heartbeat(runID: Int64) throws {
        try attempt("Cannot update the heartbeat of run \(runID) in \(path)") {
            try writeTransaction { db in
                try db.execute(
                    sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                    arguments: [Timestamp.now(), runID])
                try requireChanged(db, runID: runID)
            }
        }
    }

    // MARK: - Checks inside transactions

    private func requireRun(_ db: Database, id: Int64) throws {
        guard try Run.exists(db, key: id) else {
            throw StoreError(.notFound, "there is no run \(id).")
        }
    }

    private func requireChanged(_ db: Database, runID: Int64) throws {
        guard db.changesCount > 0 else {
            throw StoreError(.notFound, "there is no run \(runID).")
        }
    }

    private func requireForkPoint(_ db: Database, runID: Int64, epoch: Int?) throws {
        try requireRun(db, id: runID)
        guard let epoch else {
            throw StoreError(.invalidArgument, "a fork of run \(runID) needs a parent epoch.")
        }
        guard try CheckpointRow.exists(db, key: ["run_id": runID, "epoch": epoch]) else {
            throw StoreError(.notFound, "run \(runID) has no checkpoint at epoch \(epoch) to fork from.")
        }
    }
}
