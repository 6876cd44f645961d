import Dispatch
import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// One run of a sweep: a `mnistlab train` command line and how to name it.
struct Launch {
    var index: Int
    var label: String
    var name: String
    var arguments: [String]
}

/// Runs a sweep's `mnistlab train` processes, `parallel` at a time, all writing to the same
/// database (the store serializes their commits).
///
/// Each child is its own process group (Foundation's `Process` does that), so a Ctrl-C in the
/// terminal reaches only this process, which passes it on to every child exactly once: each
/// stops between batches and marks its run interrupted. No new child starts after that, nor
/// after a child that failed before creating its run (a bad --data would fail them all).
///
/// A child's run is found by identity, not by name (two grid points can share a name, as
/// with `--seed 1,1`): the run of this sweep whose `pid` is the child's process id, which
/// the store records when the child creates it.
struct SweepRunner {
    var launches: [Launch]
    var parallel: Int
    /// Children's standard output is discarded and one line per run is printed instead
    /// (several runs at once would interleave their epoch lines).
    var quiet: Bool
    /// Progress lines go to standard error (standard output is for the JSON).
    var json: Bool
    var store: Store
    var sweepID: Int64

    struct Outcome {
        var stopped: Bool
        /// Children that exited without creating a run.
        var notStarted: Int
    }

    func run() throws -> Outcome {
        let executable = URL(fileURLWithPath: executablePath())
        let finished = DispatchSemaphore(value: 0)
        var pending = launches[...]
        var running: [(launch: Launch, process: Process)] = []
        var notStarted = 0
        var forwarded = false
        var claimed = Set<Int64>()
        while !pending.isEmpty || !running.isEmpty {
            let stopping = StopSignal.received != 0
            if stopping && !forwarded {
                for child in running { kill(child.process.processIdentifier, StopSignal.received) }
                forwarded = true
            }
            while !stopping, notStarted == 0, running.count < parallel,
                let next = pending.popFirst()
            {
                let process = Process()
                process.executableURL = executable
                process.arguments = next.arguments
                if quiet { process.standardOutput = FileHandle.nullDevice }
                process.terminationHandler = { _ in finished.signal() }
                do {
                    try process.run()
                } catch {
                    throw MNISTLabError(
                        "Cannot start \(executable.path) for sweep \(sweepID): \(error.localizedDescription)"
                    )
                }
                running.append((next, process))
                say("[\(next.index)/\(launches.count)] \(next.label)\(quiet ? ": started" : "")")
            }
            if running.isEmpty { break }
            _ = finished.wait(timeout: .now() + 0.1)
            // Each child is asked once whether it is still running, so one that exits during
            // this loop is kept for the next round rather than dropped uncounted.
            var stillRunning: [(launch: Launch, process: Process)] = []
            for child in running {
                guard !child.process.isRunning else {
                    stillRunning.append(child)
                    continue
                }
                if let run = try report(child.launch, child.process, claimed: claimed) {
                    claimed.insert(run)
                } else {
                    notStarted += 1
                }
            }
            running = stillRunning
        }
        return Outcome(stopped: StopSignal.received != 0, notStarted: notStarted)
    }

    /// Prints how a child ended (when its own lines were not shown); returns the id of the run
    /// it created, or nil if it never created one.
    private func report(_ launch: Launch, _ process: Process, claimed: Set<Int64>) throws
        -> Int64?
    {
        let pid = Int64(process.processIdentifier)
        // The newest, should a pid be reused within one sweep; a run already matched to an
        // earlier child is never matched again.
        let run = try store.summaries(sweepID: sweepID).map(\.run)
            .filter { $0.pid == pid && !claimed.contains($0.id) }
            .max { $0.id < $1.id }
        guard let run else {
            say(
                "[\(launch.index)/\(launches.count)] \(launch.label): did not start (exit status \(process.terminationStatus))"
            )
            return nil
        }
        guard quiet else { return run.id }
        let summary = try store.summary(runID: run.id)
        let best =
            summary?.bestEpoch.map {
                ", best val loss \(Format.loss(summary?.bestValLoss)) at epoch \($0)"
            } ?? ""
        say(
            "[\(launch.index)/\(launches.count)] \(launch.label): run \(run.id) \(run.status.rawValue)\(best)"
        )
        return run.id
    }

    private func say(_ line: String) {
        if json {
            printStandardError(line)
        } else {
            print(line)
            flushStandardOutput()
        }
    }
}
