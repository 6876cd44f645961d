import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Marks `interrupted` every run recorded as running on this host whose process is gone
/// (killed, crashed, or the machine restarted), so that it shows as it is and can resume.
/// A run whose last planned epoch was committed before its process died is `completed`:
/// only the status update was lost, and there is nothing left to resume.
func reconcileAbandonedRuns(in store: Store) throws {
    // The same host name the store records with each run.
    let host = ProcessInfo.processInfo.hostName
    for run in try store.runningRuns() where run.host == host && !isAlive(run.pid) {
        let reason = "process \(run.pid.map(String.init) ?? "?") ended without closing the run"
        let finished = try store.summary(runID: run.id)?.lastEpoch.map { $0 >= run.epochs } ?? false
        try store.finishRun(
            id: run.id, status: finished ? .completed : .interrupted, reason: finished ? nil : reason)
    }
}

/// Whether a process with this id exists (EPERM means it does, owned by someone else).
private func isAlive(_ pid: Int64?) -> Bool {
    guard let pid, pid > 0 else { return false }
    return kill(pid_t(pid), 0) == 0 || errno == EPERM
}
