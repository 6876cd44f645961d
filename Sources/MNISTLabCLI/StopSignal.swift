import Synchronization

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// SIGINT/SIGTERM while training: the first one asks the loop to stop between batches, so the
/// run is marked interrupted and stays resumable; a second one kills the process at once
/// (the database is consistent at any instant, so that is safe too).
enum StopSignal {
    private static let signal = Atomic<Int32>(0)

    /// The signal received (SIGINT = 2, SIGTERM = 15), or 0.
    static var received: Int32 { signal.load(ordering: .relaxed) }

    static func whileTrapped<T>(_ body: () throws -> T) rethrows -> T {
        for number in [SIGINT, SIGTERM] {
            Glibc.signal(number) { caught in
                StopSignal.signal.store(caught, ordering: .relaxed)
                Glibc.signal(caught, SIG_DFL)
            }
        }
        // The signal mask is inherited: a parent that spawns us from a thread blocking
        // signals (a Dispatch worker, as in Foundation's Process) would otherwise leave
        // SIGINT/SIGTERM pending forever and the run deaf to Ctrl-C.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for number in [SIGINT, SIGTERM] { sigaddset(&stopSignals, number) }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        defer { for number in [SIGINT, SIGTERM] { Glibc.signal(number, SIG_DFL) } }
        return try body()
    }
}
