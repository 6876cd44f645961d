import Dispatch
import Store
import Synchronization

/// Commits finished epochs on a background thread, so that training goes on while SQLite
/// writes the checkpoint (and, now and then, checkpoints its WAL with an fsync).
///
/// At most one epoch is in flight: `submit` and `finish` first wait for the previous commit
/// and rethrow its error, so a failure surfaces by the next epoch and memory stays bounded.
/// Killing the process mid-write loses only that uncommitted epoch; the run resumes from the
/// one before, exactly. `takeCommitted` says which epochs are in the store, so that the
/// session reports an epoch only once it is.
final class EpochWriter: Sendable {
    private let store: Store
    private let queue = DispatchQueue(label: "mnistlab.epoch-writer")
    private let pending = DispatchGroup()
    private let failure = Mutex<(any Error)?>(nil)
    /// Epochs committed since `takeCommitted` last looked, in the order submitted.
    private let committed = Mutex(0)

    init(store: Store) { self.store = store }

    /// Queues the epoch's commit; returns the seconds spent waiting for the previous one.
    func submit(
        _ epoch: EpochRecord, checkpoint: CheckpointRecord?, keepEvery: Int, lease: Lease
    ) throws -> Double {
        let started = monotonicSeconds()
        try finish()
        let waited = monotonicSeconds() - started
        pending.enter()
        queue.async { [self] in
            do {
                try store.recordEpoch(
                    epoch, checkpoint: checkpoint, keepEvery: keepEvery, lease: lease)
                committed.withLock { $0 += 1 }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
            pending.leave()
        }
        return waited
    }

    /// How many of the submitted epochs have been committed since the last call: the
    /// oldest ones, as commits go in order and none follows a failed one.
    func takeCommitted() -> Int {
        committed.withLock { count in
            defer { count = 0 }
            return count
        }
    }

    /// Waits until every submitted epoch is committed; throws the first failure.
    func finish() throws {
        pending.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
