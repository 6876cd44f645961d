import Dispatch
import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// One trial of a sweep: its place in the grid, how to name it, its `train` arguments.
struct Launch {
    var index: Int
    var label: String
    var name: String
    var arguments: [String]
}

/// Runs a sweep's trials with `parallel` local `mnistlab worker --sweep ID` processes, all
/// writing to the same database; workers elsewhere may join in. Progress comes from the
/// `trials` table, so each trial is reported by identity, whichever worker trained it.
///
/// Each child is its own process group (Foundation's `Process` does that), so a Ctrl-C in the
/// terminal reaches only this process, which passes it on to every child exactly once: each
/// gives its trial back (its run interrupted, resumable) and exits.
struct SweepRunner {
    var launches: [Launch]
    var parallel: Int
    /// Workers' standard output is discarded and one line per trial is printed instead
    /// (several runs at once would interleave their epoch lines).
    var quiet: Bool
    /// Progress lines go to standard error (standard output is for the JSON).
    var json: Bool
    var store: Store
    var sweepID: Int64
    /// The database's path or URL, passed to the workers in MNISTLAB_DB rather than as an
    /// argument, so that a URL's password never shows in the process list.
    var databaseLocation: String

    struct Outcome {
        var stopped: Bool
        var trials: [TrialRecord]
    }

    func run() throws -> Outcome {
        let executable = URL(fileURLWithPath: executablePath())
        var workers: [Process] = []
        for _ in 0..<min(parallel, launches.count) {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["worker", "--sweep", "\(sweepID)"]
            var environment = ProcessInfo.processInfo.environment
            environment["MNISTLAB_DB"] = databaseLocation
            process.environment = environment
            if quiet { process.standardOutput = FileHandle.nullDevice }
            do {
                try process.run()
            } catch {
                throw MNISTLabError(
                    "Cannot start \(executable.path) for sweep \(sweepID): \(error.localizedDescription)")
            }
            workers.append(process)
        }
        var started = Set<Int64>()
        var reported = Set<Int64>()
        var forwarded = false
        while true {
            if StopSignal.received != 0 && !forwarded {
                for worker in workers where worker.isRunning {
                    kill(worker.processIdentifier, StopSignal.received)
                }
                forwarded = true
            }
            // Asked before reading the trials, so the last report sees every trial settled.
            let anyRunning = workers.contains { $0.isRunning }
            for trial in try store.trials(sweepID: sweepID) {
                if trial.status != .pending, started.insert(trial.id).inserted, quiet {
                    say("[\(trial.number)/\(launches.count)] \(label(trial)): started")
                }
                if trial.status == .completed || trial.status == .failed,
                    reported.insert(trial.id).inserted
                {
                    try report(trial)
                }
            }
            if !anyRunning { break }
            usleep(100_000)
        }
        return Outcome(
            stopped: StopSignal.received != 0, trials: try store.trials(sweepID: sweepID))
    }

    /// One line for a settled trial, when the workers' own lines were not shown.
    private func report(_ trial: TrialRecord) throws {
        guard quiet else { return }
        let summary = try trial.runID.flatMap { try store.summary(runID: $0) }
        let best =
            summary?.bestEpoch.map {
                ", best val loss \(Format.loss(summary?.bestValLoss)) at epoch \($0)"
            } ?? ""
        let run = trial.runID.map { "run \($0) " } ?? ""
        say("[\(trial.number)/\(launches.count)] \(label(trial)): \(run)\(trial.status.rawValue)\(best)")
    }

    private func label(_ trial: TrialRecord) -> String {
        launches.first { $0.index == trial.number }?.label ?? "trial \(trial.number)"
    }

    private func say(_ line: String) {
        if json {
            printStandardError(line)
        } else {
            print(line)
        }
    }
}
