import Dispatch
import Foundation
import Store
import Sweeps
import Training

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Trains a sweep's trials for `sweep` and reports each by identity, whichever worker trained
/// it, in one format: "[i/N] label: started", then "[i/N] label: run R completed, best val
/// loss L at epoch E".
///
/// One at a time (`--parallel 1`), the worker loop runs in this process, and each run's epoch
/// lines come between those two. With `--parallel N`, N local `mnistlab worker --sweep ID`
/// processes write to the same database (workers elsewhere may join in), their own lines are
/// discarded (several runs at once would interleave), and progress comes from the `trials`
/// table. Each child is its own process group (Foundation's `Process` does that), so a Ctrl-C
/// in the terminal reaches only this process, which passes it on to every child exactly once:
/// each gives its trial back (its run interrupted, resumable) and exits.
struct SweepRunner {
    var parallel: Int
    /// Progress lines go to standard error (standard output is for the JSON).
    var json: Bool
    var store: Store
    var sweepID: Int64
    /// The database's path or URL, passed to the workers in MNISTLAB_DB rather than as an
    /// argument, so that a URL's password never shows in the process list.
    var databaseLocation: String
    var leaseSeconds: Double

    struct Outcome {
        var stopped: Bool
        var trials: [TrialRecord]
    }

    func run() throws -> Outcome {
        let trials = try store.trials(sweepID: sweepID)
        // A TPE sweep's size counts the trials its workers have yet to propose.
        let size = try store.sweep(id: sweepID)?.size ?? trials.count
        let lines = TrialLines(size: size, json: json, store: store)
        // Trials settled before these workers start (a resumed sweep's) are not reported again.
        let settled = Set(trials.filter { $0.status == .completed || $0.status == .failed }.map(TrialLines.key))
        let workers = min(parallel, size - settled.count)
        if workers <= 1 {
            try inProcess(lines)
        } else {
            try processes(workers, lines, settled: settled)
        }
        return Outcome(
            stopped: StopSignal.received != 0, trials: try store.trials(sweepID: sweepID))
    }

    /// The worker loop in this process, with each run's epoch lines.
    private func inProcess(_ lines: TrialLines) throws {
        var loop = WorkerLoop(store: store, sweepID: sweepID, leaseSeconds: leaseSeconds)
        loop.shouldStop = { StopSignal.received != 0 }
        loop.sessionEvents = json ? .notesOnly : .console
        loop.events.describe = WorkerEvents.console.describe
        loop.events.lostHold = WorkerEvents.console.lostHold
        loop.events.claimed = { trial, _ in lines.started(trial) }
        loop.events.settled = { trial, end, decision in
            if case .error(let reason) = end {
                printStandardError(
                    "note: trial \(trial.number) failed: \(reason)\(decision.isRetry ? " It will be retried." : "")")
            }
            // An ASHA trial reaching a rung is settled by the store (decision.status nil).
            guard decision.status != .pending,
                let now = try? store.trials(sweepID: sweepID).first(where: { $0.id == trial.id }),
                TrialLines.reports(now)
            else { return }
            try? lines.settled(now)
        }
        _ = try loop.run()
    }

    /// `count` worker processes, watched through the trials table until all have exited.
    private func processes(_ count: Int, _ lines: TrialLines, settled: Set<String>) throws {
        let executable = URL(fileURLWithPath: executablePath())
        var workers: [Process] = []
        for _ in 0..<count {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["worker", "--sweep", "\(sweepID)"]
            var environment = ProcessInfo.processInfo.environment
            environment["MNISTLAB_DB"] = databaseLocation
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                throw MNISTLabError(
                    "Cannot start \(executable.path) for sweep \(sweepID): \(error.localizedDescription)")
            }
            workers.append(process)
        }
        var started = settled
        var reported = settled
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
                let key = TrialLines.key(trial)
                if trial.status != .pending, trial.status != .paused, started.insert(key).inserted {
                    lines.started(trial)
                }
                if TrialLines.reports(trial), reported.insert(key).inserted {
                    try lines.settled(trial)
                }
            }
            if !anyRunning { break }
            Thread.sleep(forTimeInterval: Timeouts.sweepReport)
        }
    }
}

/// The sweep's line for each trial, the same with one worker or many.
struct TrialLines {
    var size: Int
    var json: Bool
    var store: Store

    func started(_ trial: TrialRecord) {
        say("\(prefix(trial)): started\(trial.attempts > 1 ? " (attempt \(trial.attempts))" : "")")
    }

    /// A trial at its rung: an ASHA trial starts and pauses once per rung.
    static func key(_ trial: TrialRecord) -> String {
        "\(trial.id)@\(trial.rung.map(String.init) ?? "")"
    }

    /// Whether a trial's status is one its line reports: it ended, or paused at a rung.
    static func reports(_ trial: TrialRecord) -> Bool {
        [.completed, .failed, .paused].contains(trial.status)
    }

    /// "[2/4] lr=0.1: run 7 completed, best val loss 0.1234 at epoch 20"; an ASHA trial
    /// "paused at rung 0", or "completed at rung 3".
    func settled(_ trial: TrialRecord) throws {
        let summary = try trial.runID.flatMap { try store.summary(runID: $0) }
        let best =
            summary?.bestEpoch.map {
                ", best val loss \(Format.loss(summary?.bestValLoss)) at epoch \($0)"
            } ?? ""
        let run = trial.runID.map { "run \($0) " } ?? ""
        let rung = trial.rung.map { " at rung \($0)" } ?? ""
        say("\(prefix(trial)): \(run)\(trial.status.rawValue)\(rung)\(best)")
    }

    private func prefix(_ trial: TrialRecord) -> String {
        "[\(trial.number)/\(size)] \((try? trial.decodedSettings().label) ?? "trial \(trial.number)")"
    }

    private func say(_ line: String) {
        if json {
            printStandardError(line)
        } else {
            print(ProgressLine.clear + line)
        }
    }
}

extension SessionEvents {
    /// No epoch lines (standard output is for the JSON); notes on standard error.
    static var notesOnly: SessionEvents {
        var events = SessionEvents()
        events.note = { printStandardError("note: \($0)") }
        return events
    }
}
