import ArgumentParser
import Foundation
import Store
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
                its lease with every epoch and at least every --lease-seconds / 3), then \
                claims the next. A trial whose worker died (its lease expired) is taken over \
                by the next worker that looks for work, which resumes the same run from its \
                last committed epoch, so it ends bit for bit as if nothing had happened. A \
                worker exits 0 once nothing is left: while another worker's trial still runs \
                it waits, to take it over should that worker die. Ctrl-C gives the current \
                trial back at once (its run interrupted, the trial pending) and exits 130.

                A trial that diverges (NaN) fails and is not retried; other failures are \
                retried, by any worker, up to \(Self.maxAttempts) attempts in all.

                Examples:
                  mnistlab sweep --learning-rate 0.05,0.1,0.2 --epochs 50 --detach
                  mnistlab worker --sweep 1
                  mnistlab worker --max-trials 1 --lease-seconds 60
                """)

        /// Claims of one trial, takeovers included, before a failure is final.
        static let maxAttempts = 3

        @Option(
            name: .long, parsing: .unconditional,
            help: "Work on this sweep only (default: any sweep with work).")
        var sweep: Int64?

        @Option(
            name: .long, parsing: .unconditional,
            help: "Seconds a trial stays held without a sign of life from this worker.")
        var leaseSeconds = Defaults.leaseSeconds

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
            guard Check.leaseSeconds.contains(leaseSeconds) else {
                throw ValidationError(
                    "--lease-seconds must be from 0.1 to 86400; got \(leaseSeconds).")
            }
            if let maxTrials, maxTrials < 1 {
                throw ValidationError("--max-trials must be at least 1; got \(maxTrials).")
            }
        }

        func run() throws {
            let store = try database.openExisting()
            // Closed explicitly so the WAL is folded back before the process exits.
            defer { try? store.close() }
            if let sweep, try store.sweep(id: sweep) == nil {
                throw MNISTLabError("There is no sweep \(sweep) in this database; `mnistlab sweeps` lists them.")
            }
            let stopped = try StopSignal.whileTrapped { try work(store) }
            if stopped { throw ExitCode(128 + StopSignal.received) }
        }

        /// Claims and trains trials until there is nothing left (false) or a stop signal
        /// came (true).
        private func work(_ store: Store) throws -> Bool {
            var trained = 0
            var datasets = DatasetCache()
            while maxTrials.map({ trained < $0 }) ?? true {
                if StopSignal.received != 0 { return true }
                try store.releaseAbandonedRuns()
                guard let claim = try store.claimTrial(sweepID: sweep, leaseSeconds: leaseSeconds)
                else {
                    // Nothing free: wait while some trial runs, in case its worker dies.
                    guard try !store.sweepProgress(id: sweep).allSatisfy(\.isFinished) else {
                        print(
                            "\(sweep.map { "sweep \($0)" } ?? "every sweep"): nothing left to do (\(trained) trial\(trained == 1 ? "" : "s") trained by this worker)"
                        )
                        return false
                    }
                    waitForWork()
                    continue
                }
                trained += 1
                if try train(claim, store, &datasets) == .stopped { return true }
            }
            return false
        }

        private enum TrialEnd { case settled, stopped }

        /// Trains the claimed trial (resuming its run when it was taken over) and settles it.
        private func train(
            _ claim: TrialClaim, _ store: Store, _ datasets: inout DatasetCache
        ) throws -> TrialEnd {
            let trial = claim.trial
            let size = try store.sweep(id: trial.sweepID)?.size ?? 0
            print(
                "trial \(trial.number)/\(size) of sweep \(trial.sweepID)\(trial.attempts > 1 ? " (attempt \(trial.attempts))" : "")"
            )
            flushStandardOutput()
            let session = Session(store: store, events: .console, leaseSeconds: leaseSeconds)
            let result: SessionResult
            do {
                if let runID = trial.runID {
                    // Taken over: the same run, from its last committed epoch.
                    result = try session.resume(runID: runID, from: nil, changes: ResumeChanges())
                } else {
                    var arguments = trial.arguments
                    if let data { arguments += ["--data", data] }
                    let command = try MNISTLab.Train.parse(arguments)
                    let (h, source) = try command.settings()
                    result = try session.train(
                        h, data: try datasets.prepared(source), name: command.training.name,
                        keepEvery: command.training.keepEvery ?? Defaults.keepEvery,
                        sweepID: trial.sweepID, trial: claim)
                }
            } catch let error as StoreError where error.isLostHold {
                printStandardError("note: \(ErrorWording.store(error))")
                return .settled
            } catch {
                let final = trial.attempts >= Self.maxAttempts
                let reason = ErrorWording.message(for: error) ?? "\(error)"
                printStandardError(
                    "note: trial \(trial.number) of sweep \(trial.sweepID) failed: \(reason)\(final ? "" : " It will be retried.")"
                )
                try settle(claim, store, final ? .failed : .pending, reason: reason)
                return .settled
            }
            switch result {
            case .completed(let id), .nothingToDo(let id, _, _, _):
                print("run \(id) completed")
                try settle(claim, store, .completed)
            case .failed(let id, let reason, _):
                // Divergence is deterministic: a retry would diverge again.
                print("run \(id) failed: \(reason)")
                try settle(claim, store, .failed, reason: reason)
            case .interrupted(let id, _):
                print(ProgressLine.clear + "run \(id) interrupted; trial \(trial.number) is pending again")
                try settle(claim, store, .pending)
                return .stopped
            case .leaseLost(let id, _):
                printStandardError(
                    "note: run \(id) was taken over by another worker after this one's lease expired; moving on.")
            case .paused(let id, let epoch):
                // Not asked for here (no pauseAfter); the run stays resumable, so give it back.
                print("run \(id) paused after epoch \(epoch); trial \(trial.number) is pending again")
                try settle(claim, store, .pending)
            }
            flushStandardOutput()
            return .settled
        }

        private func settle(
            _ claim: TrialClaim, _ store: Store, _ status: TrialRecord.Status,
            reason: String? = nil
        ) throws {
            do {
                try store.finishTrial(claim, status: status, reason: reason)
            } catch let error as StoreError where error.isLostHold {
                printStandardError("note: \(ErrorWording.store(error))")
            }
        }

        /// Sleeps about a third of a lease (at most a second), waking early on a stop signal.
        private func waitForWork() {
            let deadline = Date().addingTimeInterval(min(1, leaseSeconds / 3))
            while Date() < deadline, StopSignal.received == 0 { usleep(20_000) }
        }
    }
}

/// The datasets a worker has loaded: a sweep's trials share one, loaded once.
struct DatasetCache {
    private var prepared: [DataSource: PreparedData] = [:]

    mutating func prepared(_ source: DataSource) throws -> PreparedData {
        if let data = prepared[source] { return data }
        let data = try source.prepare()
        prepared[source] = data
        return data
    }
}

extension StoreError {
    /// Whether another process took over what this one held (a run or a trial).
    var isLostHold: Bool {
        switch kind {
        case .leaseLost, .trialLost, .runHeld: true
        default: false
        }
    }
}
