import ArgumentParser
import Foundation
import Store
import Sweeps
import Training

#if canImport(Glibc)
    import Glibc
#endif

extension MNISTLab {
    struct Worker: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Claim and train a sweep's trials until the sweep has nothing left to do.",
            discussion: """
                Start any number of workers, on any machine that reaches the store: each claims \
                the next pending trial atomically, trains it as a run of the sweep (renewing \
                its lease with every epoch and at least every --lease-seconds / \(Timeouts.text(Timeouts.renewalsPerLease))), then \
                claims the next. A trial whose worker died (its lease expired) is taken over \
                by the next worker that looks for work, which resumes the same run from its \
                last committed epoch, so it ends bit for bit as if nothing had happened. A \
                worker exits 0 once nothing is left: while another worker's trial still runs \
                it waits, to take it over should that worker die. Ctrl-C gives the current \
                trial back at once (its run interrupted, the trial pending) and exits 130; SIGTERM \
                or SIGUSR1 (a batch scheduler's time limit, preemption, `scancel`, or \
                `sbatch --signal` warning) does the same and exits 0, so that a requeued job \
                is not counted as failed.

                A trial that diverges (NaN) fails and is not retried; other failures are \
                retried, by any worker, up to \(RetryPolicy.standard.maxAttempts) attempts in all.

                Examples:
                  mnistlab sweep --learning-rate 0.05,0.1,0.2 --epochs 50 --detach
                  mnistlab worker --sweep 1
                  mnistlab worker --max-trials 1 --lease-seconds 60
                """)

        @Option(
            name: .long, parsing: .unconditional,
            help: "Work on this sweep only (default: any sweep with work).")
        var sweep: Int64?

        @Option(
            name: .long, parsing: .unconditional,
            help: "Seconds a trial stays held without a sign of life from this worker (\(Timeouts.leaseRangeText)).")
        var leaseSeconds = Timeouts.lease

        @Option(
            name: .long, parsing: .unconditional,
            help: "Stop after this many trials (default: until the sweep is done).")
        var maxTrials: Int?

        @Option(
            name: .long,
            help: "Directory of the MNIST files on this machine, if not where the sweep found them.")
        var data: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            try Check.notEmpty(data, "--data")
            guard Timeouts.leaseRange.contains(leaseSeconds) else {
                throw ValidationError(
                    "--lease-seconds must be \(Timeouts.leaseRangeText); got \(leaseSeconds).")
            }
            if let maxTrials, maxTrials < 1 {
                throw ValidationError("--max-trials must be at least 1; got \(maxTrials).")
            }
        }

        func run() throws {
            let store = try database.openExisting()
            // Closed explicitly so the WAL is folded back before the process exits.
            defer { try? store.close() }
            var loop = WorkerLoop(store: store, sweepID: sweep, leaseSeconds: leaseSeconds)
            loop.maxTrials = maxTrials
            loop.dataDirectory = data
            loop.events = .console
            loop.sessionEvents = .console
            loop.shouldStop = { StopSignal.received != 0 }
            StandardOutput.policy = .carryOn
            loop.job = SchedulerJob(environment: ProcessInfo.processInfo.environment)
            let end = try StopSignal.whileTrapped(StopSignal.stopping + [SIGUSR1]) {
                try loop.run()
            }
            switch end {
            case .nothingLeft(let trained):
                print(
                    "\(sweep.map { "sweep \($0)" } ?? "every sweep"): nothing left to do (\(Format.count(trained, "trial")) trained by this worker)"
                )
            case .reachedLimit: break
            case .stopped:
                // A scheduler's stop (SIGTERM, SIGUSR1) is the job doing as asked: exit 0.
                if !StopSignal.handedBack.contains(StopSignal.received) {
                    throw ExitCode(128 + StopSignal.received)
                }
            }
        }
    }
}

extension WorkerEvents {
    /// A worker's lines: the trial it claims, how it ended, and notes on standard error.
    static var console: WorkerEvents {
        var events = WorkerEvents()
        events.claimed = { trial, size in
            print(
                "trial \(trial.number)/\(size) of sweep \(trial.sweepID)\(trial.attempts > 1 ? " (attempt \(trial.attempts))" : "")"
            )
        }
        events.lostHold = { printStandardError("note: \(ErrorWording.store($0))") }
        events.describe = { ErrorWording.message(for: $0) ?? "\($0)" }
        events.settled = { trial, end, decision in
            switch end {
            case .session(.completed(let id)), .session(.nothingToDo(let id, _, _, _)):
                print("run \(id) completed")
            case .session(.failed(let id, let reason, _)):
                print("run \(id) failed: \(reason)")
            case .session(.paused(let id, let epoch)):
                print("run \(id) paused after epoch \(epoch), at a rung: it waits to be promoted or pruned")
            case .session(.interrupted(let id, _)):
                print(ProgressLine.clear + "run \(id) interrupted; trial \(trial.number) is pending again")
            case .session(.leaseLost(let id, _)):
                printStandardError(
                    "note: run \(id) was taken over by another worker after this one's lease expired; moving on.")
            case .error(let reason):
                printStandardError(
                    "note: trial \(trial.number) of sweep \(trial.sweepID) failed: \(reason)\(decision.isRetry ? " It will be retried." : "")"
                )
            case .lostHold: break
            }
        }
        return events
    }
}
