import Foundation
import Store
import Synchronization

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// What signals do to a run, in one place (docs/cli.md: "Signals and exit codes").
///
/// - SIGINT, SIGTERM and SIGHUP (Ctrl-C, `kill`, the terminal closing) while training: the
///   first one asks the loop to stop between batches, so the run is marked interrupted and
///   stays resumable, and the process exits 128 + the signal (130, 143, 129); a second one
///   kills the process at once (the database is consistent at any instant, so that is safe
///   too).
/// - A worker also stops on SIGUSR1 (a batch scheduler's early warning, `sbatch --signal`),
///   and after SIGTERM or SIGUSR1 (a scheduler's time limit, preemption, `scancel`) it exits
///   0 once its trial is given back: a requeued job is then not counted as failed
///   (`handedBack`).
/// - SIGTSTP (Ctrl-Z) stops the process once none of its write transactions is open
///   (`Store.holdingWrites`), rather than wherever it is: stopped inside one, it would keep
///   the store's write lock, so every other writer of an SQLite file would fail after the busy
///   timeout, and nobody could take its run over once its lease expired. `fg` (SIGCONT)
///   continues it.
/// - SIGPIPE is ignored for the whole process: a closed output (`mnistlab train | head -2`)
///   makes writes fail with EPIPE, the lost lines are dropped, and training goes on to the
///   end, so no run is left `running` by a reader that stopped reading.
enum StopSignal {
    private static let signal = Atomic<Int32>(0)

    /// The signals that stop a run cleanly.
    static let stopping = [SIGINT, SIGTERM, SIGHUP]

    /// The signals a batch scheduler stops a worker with: the worker gives its trial back and
    /// exits 0, as a job that did what was asked of it.
    static let handedBack = [SIGTERM, SIGUSR1]

    /// The signal received (SIGINT = 2, SIGTERM = 15, SIGHUP = 1), or 0.
    static var received: Int32 { signal.load(ordering: .relaxed) }

    /// Ignores SIGPIPE from here on, in this process and in the children it starts (a
    /// sweep's runs, which print to the same output).
    static func ignoreClosedOutput() {
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// Runs `body` with `signals` (default: `stopping`) trapped as described above.
    static func whileTrapped<T>(
        _ signals: [Int32] = stopping, _ body: () throws -> T
    ) rethrows -> T {
        for number in signals {
            Glibc.signal(number) { caught in
                StopSignal.signal.store(caught, ordering: .relaxed)
                Glibc.signal(caught, SIG_DFL)
            }
        }
        // The signal mask is inherited: a parent that spawns us from a thread blocking
        // signals (a Dispatch worker, as in Foundation's Process) would otherwise leave
        // the stop signals pending forever and the run deaf to Ctrl-C.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for number in signals { sigaddset(&stopSignals, number) }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        defer { for number in signals { Glibc.signal(number, SIG_DFL) } }
        return try body()
    }

    /// Makes Ctrl-Z (SIGTSTP) stop the process only while none of its write transactions is
    /// open, from now on: a thread of its own waits for the handler's word, then stops the
    /// process inside `Store.holdingWrites`. `raise` stops the calling thread before it
    /// returns, so no write begins until the process has been continued. A parent that has
    /// SIGTSTP ignored (a supervisor may) is obeyed.
    static func stopBetweenWrites() {
        if let previous = Glibc.signal(SIGTSTP, SIG_IGN),
            unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
        {
            return
        }
        _ = ctrlZ  // before the handler can post to it: a signal handler may not allocate
        Thread.detachNewThread {
            while true {
                guard sem_wait(StopSignal.ctrlZ) == 0 else { continue }  // EINTR
                Store.holdingWrites {
                    // Ctrl-Z pressed again while a commit ended is the same stop, not another.
                    while sem_trywait(StopSignal.ctrlZ) == 0 {}
                    _ = raise(SIGSTOP)
                }
            }
        }
        Glibc.signal(SIGTSTP) { _ in _ = sem_post(StopSignal.ctrlZ) }
        var ctrlZSignal = sigset_t()
        sigemptyset(&ctrlZSignal)
        sigaddset(&ctrlZSignal, SIGTSTP)
        pthread_sigmask(SIG_UNBLOCK, &ctrlZSignal, nil)
    }

    /// Posted by the SIGTSTP handler (`sem_post` is safe in one).
    nonisolated(unsafe) private static let ctrlZ: UnsafeMutablePointer<sem_t> = {
        let posted = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        sem_init(posted, 0, 0)
        return posted
    }()
}
