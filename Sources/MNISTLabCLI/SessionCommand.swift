import ArgumentParser
import Store
import Training

/// The skeleton `train` and `resume` share: open the store, record what became of runs whose
/// process died on this machine, run the session with the stop signals trapped, close the
/// store (folding the WAL back before the process exits) and report how the session ended.
func runSession(
    _ database: DatabaseOptions, open: () throws -> Store,
    _ body: (Session) throws -> SessionResult
) throws {
    // Read first: a bad MNISTLAB_LEASE_SECONDS is refused before any file is created.
    let leaseSeconds = try database.leaseSeconds
    StandardOutput.policy = .carryOn
    let store = try open()
    defer { try? store.close() }
    try store.releaseAbandonedRuns()
    let session = Session(store: store, events: .console, leaseSeconds: leaseSeconds)
    try finish(try StopSignal.whileTrapped { try body(session) })
}

/// Prints how a session ended and exits as the outcome requires: 0 (also when a resume had
/// nothing left to do), 128 + the signal after one, 1 after divergence or a lost lease.
func finish(_ result: SessionResult) throws {
    switch result {
    case .completed(let id):
        print("run \(id) completed")
    case .interrupted(let id, let lastEpoch):
        let resumable = lastEpoch.map { "after epoch \($0); `mnistlab resume \(id)` continues it" }
        print(ProgressLine.clear + "run \(id) interrupted \(resumable ?? "before its first epoch")")
        throw ExitCode(128 + StopSignal.received)
    case .failed(let id, let reason, let lastEpoch?):
        throw MNISTLabError(
            "Run \(id) failed: \(reason). Its checkpoints up to epoch \(lastEpoch) are kept; `mnistlab resume \(id) --from <epoch> --learning-rate <smaller>` forks it from one of them.")
    case .failed(let id, let reason, nil):
        throw MNISTLabError(
            "Run \(id) failed: \(reason). No epoch was recorded; `mnistlab resume \(id) --learning-rate <smaller>` restarts it.")
    case .leaseLost(let id, let lastEpoch):
        throw MNISTLabError(
            "Run \(id) was taken over by another process after this one's lease expired\(lastEpoch.map { " (its epochs up to \($0) are recorded)" } ?? ""); this process wrote nothing more to it.")
    case .nothingToDo(let id, let lastEpoch, _, stoppedEarly: true):
        print(
            "run \(id): nothing to do; early stopping ended it at epoch \(lastEpoch) and would end it again at once. Pass --patience 0 (off) or a larger --patience to fork a run that trains on.")
    case .paused(let id, let epoch):
        print("run \(id) paused after epoch \(epoch); `mnistlab resume \(id)` continues it")
    case .nothingToDo(let id, let lastEpoch, let through, stoppedEarly: false):
        print(
            "run \(id): nothing to do; its epochs through \(max(lastEpoch, through)) are recorded with these settings. Pass --epochs N (a total above \(lastEpoch)) to train further, or --from an earlier epoch with a changed setting to fork.")
    }
}
