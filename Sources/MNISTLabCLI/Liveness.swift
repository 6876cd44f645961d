import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Marks `interrupted` every run recorded as running on this host whose process is gone
/// (killed, crashed, or the machine restarted), so that it shows as it is and can resume.
func reconcileAbandonedRuns(in store: Store) throws {
    // The same host name the store records with each run.
    let host = ProcessInfo.processInfo.hostName
    for run in try store.runningRuns() where run.host == host && !isAlive(run.pid) {
        try store.finishRun(
            id: run.id, status: .interrupted, reason: "process \(run.pid.map(String.init) ?? "?") ended without closing the run")
    }
}

/// Whether a process with this id exists (EPERM means it does, owned by someone else).
private func isAlive(_ pid: Int64?) -> Bool {
    guard let pid, pid > 0 else { return false }
    return kill(pid_t(pid), 0) == 0 || errno == EPERM
}
