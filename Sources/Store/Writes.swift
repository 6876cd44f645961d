/// Store's writes: one method per invariant, each one write transaction.
import Foundation

extension Store {
    /// Records a finished epoch of the run `lease` holds, in one transaction: the lease
    /// check and renewal, its metrics, its checkpoint (if any) and checkpoint retention.
    /// Throws `.leaseLost`, writing nothing, if another process has claimed the run since.
    ///
    /// Retention keeps, of this run's checkpoints: the best epoch (lowest val_loss, earliest
    /// on ties), the latest checkpoint (so the run can always resume), every epoch with
    /// `epoch % keepEvery == 0`, and every epoch a child run forked from. `keepEvery: 1`
    /// keeps all.
    public func recordEpoch(
        _ epoch: EpochRecord, checkpoint: CheckpointRecord?, keepEvery: Int, lease: Lease
    ) throws {
        try attempt("Cannot record epoch \(epoch.epoch) of run \(epoch.runID) in \(location)") {
            guard keepEvery >= 1 else {
                throw StoreError(.invalidArgument, "keepEvery must be at least 1; got \(keepEvery).")
            }
            if epoch.runID != lease.runID {
                throw StoreError(
                    .invalidArgument, "the lease is for run \(lease.runID), not \(epoch.runID).")
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
            // Encode and checksum before taking the write lock, to keep the lock short. Both
            // rows are stamped with the database's clock, in the statements that write them.
            let stamp = { (column: String) in [column: self.dialect.now] }
            let checkpointRow = checkpoint.map { CheckpointRow($0, createdAt: "") }
            let dropped = try write { db in
                try lockCheckpoints(ofRun: epoch.runID, db)
                try renew(lease, db)
                try db.insert(epoch, into: EpochRecord.table, expressions: stamp("recorded_at"))
                if let checkpointRow {
                    try db.insert(
                        checkpointRow, into: CheckpointRow.table, expressions: stamp("created_at"))
                }
                return try db.execute(
                    Self.pruneCheckpoints, [.integer(epoch.runID), .integer(Int64(keepEvery))])
            }
            if dropped > 0 { reclaimCheckpointSpace(afterDropping: dropped) }
        }
    }

    /// The epoch commits that delete this many checkpoints in all are followed by one
    /// `reclaimCheckpointSpace`. Each reclaim (PostgreSQL's VACUUM) took a median of 0.8 ms
    /// after a commit of 7-20 ms at 10,000 runs, but 8-12 ms at the p90 and 14 ms in the median
    /// while autovacuum was busy (BENCHMARKS.md); every 4th keeps it off three commits in four,
    /// and the space of at most 4 dead checkpoints (1.3 MB for the 784-100-10 network) waits.
    static let reclaimEvery = 4

    /// Counts the checkpoints an epoch commit deleted, and reclaims their space once
    /// `reclaimEvery` of them are waiting. Upkeep, not part of the write: the epoch is
    /// committed whatever it does, and a reclaim that fails is tried again at the next drop.
    func reclaimCheckpointSpace(afterDropping dropped: Int) {
        let waiting = checkpointsDroppedSinceReclaim.withLock { count in
            count += dropped
            return count
        }
        if waiting >= Self.reclaimEvery { reclaimCheckpointSpace() }
    }

    /// Lets the next checkpoint reuse the space of those just deleted (`Engine.reclaim`).
    /// Without it a PostgreSQL store grew by about one checkpoint per epoch: 133 MB for a
    /// 400-epoch run that keeps 9 checkpoints of 318 KB. Upkeep: a failure is ignored, and
    /// the space is reclaimed by the next call (or autovacuum).
    func reclaimCheckpointSpace() {
        // Through the gate as a write: a process stopped in PostgreSQL's VACUUM would hold
        // the table's lock, as one stopped in a transaction would its rows.
        guard (try? WriteGate.shared.passing { try engine.reclaim("checkpoints") }) != nil else { return }
        checkpointsDroppedSinceReclaim.withLock { $0 = 0 }
    }

    /// Reclaims the space of the checkpoints deleted since the last reclaim, if any: when a
    /// run stops, so that a finished run leaves no dead checkpoint behind.
    func reclaimWaitingCheckpointSpace() {
        if checkpointsDroppedSinceReclaim.withLock({ $0 }) > 0 { reclaimCheckpointSpace() }
    }

    /// Deletes this run's checkpoints outside the retention set (see `recordEpoch`).
    static let pruneCheckpoints = "DELETE FROM checkpoints WHERE \(droppableCheckpoint)"

    /// THE retention rule, shared by `recordEpoch` and `pruneCheckpoints(runIDs:keep:)`: a
    /// checkpoint of run ?1 that may go. Kept are the best epoch (run_stats.best_epoch, the
    /// one rule that `run_summary` and `best` read too), the latest checkpoint, every epoch a
    /// fork started from and, unless ?2 (keep every) is NULL, every multiple of ?2.
    static let droppableCheckpoint = """
        run_id = ?1
          AND (CAST(?2 AS BIGINT) IS NULL OR epoch % ?2 <> 0)
          AND epoch <> (SELECT max(epoch) FROM checkpoints WHERE run_id = ?1)
          AND epoch IS DISTINCT FROM (SELECT best_epoch FROM run_stats WHERE run_id = ?1)
          AND epoch NOT IN (SELECT parent_epoch FROM runs
                            WHERE parent_run_id = ?1 AND parent_epoch IS NOT NULL)
        """
}
