/// The worker loop: claim the next trial, train it through Training's session (a taken-over
/// trial resumes its run), settle it as `TrialStateMachine` decides, and again, until the
/// sweep has nothing left, a stop signal comes or `maxTrials` are trained.
import Foundation
import Store
import Training

#if canImport(Glibc)
    import Glibc
#endif

/// What the loop reports while it works; the CLI prints it.
public struct WorkerEvents {
    /// A trial claimed, with the sweep's size.
    public var claimed: (TrialRecord, _ sweepSize: Int) -> Void = { _, _ in }
    /// A trial's hold ended and was settled as `decision` says.
    public var settled: (TrialRecord, TrialEnd, TrialDecision) -> Void = { _, _, _ in }
    /// Another worker took what this one held, while settling (the store's error).
    public var lostHold: (StoreError) -> Void = { _ in }
    /// What an error thrown by training says, as failure_reason keeps it.
    public var describe: (any Error) -> String = { "\($0)" }

    public init() {}
}

/// How the loop ended.
public enum WorkerEnd: Equatable, Sendable {
    /// Every trial of the sweep (or of every sweep) is settled.
    case nothingLeft(trained: Int)
    /// `maxTrials` trials were trained.
    case reachedLimit(trained: Int)
    /// A stop signal came; the trial held then was given back.
    case stopped(trained: Int)
}

public struct WorkerLoop {
    public var store: Store
    /// The sweep to work on; nil: any sweep with work.
    public var sweepID: Int64?
    public var leaseSeconds: Double
    public var maxTrials: Int?
    /// The MNIST directory on this machine, when not where the sweep found it.
    public var dataDirectory: String?
    public var retry = RetryPolicy.standard
    public var events = WorkerEvents()
    /// What each trial's session reports (epochs, progress); its `shouldStop` is the loop's.
    public var sessionEvents = SessionEvents()
    /// Whether a stop was asked for (a signal): checked between trials and by the session.
    public var shouldStop: () -> Bool = { false }
    /// The batch job this worker runs in (a Slurm array task), recorded on each trial it
    /// claims; nil outside one.
    public var job: SchedulerJob?

    /// The settings of a TPE sweep's next trial, proposed from its state.
    public var propose: (SweepState) throws -> String = TPEProposal.settings

    public init(store: Store, sweepID: Int64? = nil, leaseSeconds: Double = Timeouts.lease) {
        self.store = store
        self.sweepID = sweepID
        self.leaseSeconds = leaseSeconds
    }

    /// Claims and trains trials until there is nothing left, `maxTrials` are trained, or a
    /// stop is asked for.
    public func run() throws -> WorkerEnd {
        if let sweepID, try store.sweep(id: sweepID) == nil {
            throw SweepError.unknownSweep(sweepID)
        }
        var trained = 0
        var datasets = DatasetCache()
        while true {
            if let maxTrials, trained >= maxTrials { return .reachedLimit(trained: trained) }
            if shouldStop() { return .stopped(trained: trained) }
            try store.releaseAbandonedRuns()
            guard
                let claim = try store.claimTrial(sweepID: sweepID, leaseSeconds: leaseSeconds, job: job)
                    ?? claimDecidedJob()
            else {
                // Nothing free: wait while some trial runs, in case its worker dies.
                if try store.sweepProgress(id: sweepID).allSatisfy(\.isFinished) {
                    return .nothingLeft(trained: trained)
                }
                waitForWork()
                continue
            }
            trained += 1
            let decision = try train(claim, &datasets)
            if decision.stopsWorker { return .stopped(trained: trained) }
        }
    }

    /// The next job of a sweep that decides its own (ASHA's promotions, TPE's proposals):
    /// sweep `sweepID`, or the first unfinished such sweep with one. Deciding may end a sweep
    /// (its paused trials pruned).
    func claimDecidedJob() throws -> TrialClaim? {
        let sweeps = try store.sweepProgress(id: sweepID).filter {
            $0.sweep.search.decidesItsJobs && !$0.isFinished
        }
        for progress in sweeps.reversed() {
            let claim = try store.claimSweepJob(
                sweepID: progress.sweep.id, leaseSeconds: leaseSeconds
            ) { state in try SweepJobs.next(state, propose: propose) }
            if let claim { return claim }
        }
        return nil
    }

    /// Trains the claimed trial (resuming its run when it was taken over or promoted), to its
    /// next rung in an ASHA sweep, and settles it.
    func train(_ claim: TrialClaim, _ datasets: inout DatasetCache) throws -> TrialDecision {
        let trial = claim.trial
        let sweep = try store.sweep(id: trial.sweepID)
        events.claimed(trial, sweep?.size ?? 0)
        var session = Session(store: store, events: sessionEvents, leaseSeconds: leaseSeconds)
        session.events.shouldStop = shouldStop
        let target = try sweep?.search.ladder.map { RungTarget(trial, $0) }
        let end: TrialEnd
        do {
            let result = try Self.session(
                session, claim, dataDirectory, &datasets, pauseAfter: target?.pauseAfter)
            if let target, try target.isReached(by: result, store) {
                // The rung and the pause (or the completion, at the last) in one transaction.
                try store.reachRung(
                    claim, rung: target.rung, epoch: target.epoch, last: target.isLast)
                let decision = TrialDecision(status: nil)
                events.settled(trial, .session(result), decision)
                return decision
            }
            end = .session(result)
        } catch let error as StoreError where error.isLostHold {
            events.lostHold(error)
            end = .lostHold
        } catch {
            end = .error(reason: events.describe(error))
        }
        let decision = TrialStateMachine.decide(end, attempts: trial.attempts, policy: retry)
        if let status = decision.status {
            do {
                try store.finishTrial(claim, status: status, reason: decision.reason)
            } catch let error as StoreError where error.isLostHold {
                events.lostHold(error)
            }
        }
        events.settled(trial, end, decision)
        return decision
    }

    /// The session for the trial: its run resumed in place when it was taken over, else a
    /// new run of its settings linked to the trial as it is created.
    static func session(
        _ session: Session, _ claim: TrialClaim, _ dataDirectory: String?,
        _ datasets: inout DatasetCache, pauseAfter: Int? = nil
    ) throws -> SessionResult {
        let trial = claim.trial
        if let runID = trial.runID {
            // Taken over or promoted: the same run, from its last committed epoch.
            var changes = ResumeChanges()
            changes.dataDirectory = dataDirectory
            return try session.resume(
                runID: runID, from: nil, changes: changes, pauseAfter: pauseAfter)
        }
        let settings = try trial.decodedSettings()
        var source = settings.data
        if let dataDirectory { source.directory = dataDirectory }
        return try session.train(
            settings.hyperparameters, data: try datasets.prepared(source), name: settings.name,
            keepEvery: settings.keepEvery, sweepID: trial.sweepID, trial: claim,
            pauseAfter: pauseAfter)
    }

    /// Sleeps `Timeouts.workerPoll` (a third of a lease, at most a second), waking early on a
    /// stop.
    private func waitForWork() {
        let deadline = Date().addingTimeInterval(Timeouts.workerPoll(lease: leaseSeconds))
        while Date() < deadline, !shouldStop() {
            Thread.sleep(forTimeInterval: Timeouts.stopCheck)
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
    public var isLostHold: Bool {
        switch kind {
        case .leaseLost, .trialLost, .runHeld: true
        default: false
        }
    }
}
