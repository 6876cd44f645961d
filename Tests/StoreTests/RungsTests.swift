import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Store

/// Sweeps that decide their jobs: claims apply a decision made from the sweep's state in the
/// same locked transaction, rungs are recorded with the pause they cause, and every write is
/// fenced by the trial's claim.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct RungsTests {
    /// An ASHA sweep (rungs at 1, 3 and 9 epochs) of `trials` pending trials.
    func ashaSweep(_ store: Store, trials: Int, size: Int? = nil) throws -> SweepRecord {
        try store.createSweep(
            grid: "{}", search: SweepSearch(epochs: 9, minEpochs: 1, reductionFactor: 3),
            size: size
        ) { id in (1...trials).map { #"{"sweep": \#(id), "seed": \#($0)}"# } }
    }

    /// The first trial of `state` with `status`, as a decision.
    func first(_ status: TrialRecord.Status, _ state: SweepState) -> TrialRecord? {
        state.trials.first { $0.status == status }
    }

    /// Starts the next pending trial, trains its run through `epoch` with this val_loss and
    /// pauses it at `rung`.
    @discardableResult
    func trainToRung(
        _ store: Store, _ sweep: SweepRecord, rung: Int, epoch: Int, valLoss: Double
    ) throws -> TrialClaim {
        let claim = try startAndTrain(store, sweep, through: epoch, valLoss: valLoss)
        try store.reachRung(claim, rung: rung, epoch: epoch, last: false)
        return claim
    }

    /// Starts the next pending trial and trains its run through `epoch`, with this val_loss
    /// there, short of recording the rung.
    func startAndTrain(
        _ store: Store, _ sweep: SweepRecord, through epoch: Int, valLoss: Double
    ) throws -> TrialClaim {
        let claim = try #require(
            try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { state in
                self.first(.pending, state).map { .start(trialID: $0.id) } ?? .wait
            })
        var new = NewRun.sample()
        new.sweepID = sweep.id
        new.epochs = 9
        let (run, lease) = try store.createRun(new, leaseSeconds: 30, for: claim)
        for e in 1...epoch {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: e, valLoss: e == epoch ? valLoss : 1),
                checkpoint: CheckpointRecord(runID: run.id, epoch: e, weights: [Float(e)]),
                keepEvery: 50, lease: lease)
        }
        try store.finishRun(lease, status: .interrupted)
        return claim
    }

    @Test(arguments: TestEngine.all) func aTrialReachingARungIsPausedWithItsLossThere(engine: TestEngine) throws {
        // Given an ASHA sweep whose first trial trained to epoch 1 (val_loss 0.25 there)
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try ashaSweep(store, trials: 2)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.25)

        // Then the trial is paused at rung 0, holding nothing, with the rung's row
        let state = try #require(try store.sweepState(id: sweep.id))
        #expect(state.trials.map(\.status) == [.paused, .pending])
        #expect(state.trials[0].rung == 0 && state.trials[0].workerToken == nil)
        #expect(state.rungs.count == 1)
        #expect(state.rungs.first.map { [$0.rung, $0.epoch] } == [0, 1])
        #expect(state.rungs.first?.valLoss == 0.25 && state.rungs.first?.promotedAt == nil)
        #expect(state.sweep.search == SweepSearch(epochs: 9, minEpochs: 1, reductionFactor: 3))
        // And run_summary shows where the run's trial stands
        let summary = try #require(try store.summaries(sweepID: sweep.id).first)
        #expect(summary.trialStatus == .paused && summary.rung == 0)
        // And a paused trial keeps the sweep unfinished
        #expect(try store.sweepProgress(id: sweep.id).first.map { [$0.paused, $0.pending] } == [1, 1])
    }

    @Test(arguments: TestEngine.all) func aPromotionIsClaimedOnceAndMarked(engine: TestEngine) throws {
        // Given a trial paused at rung 0 after two attempts
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try ashaSweep(store, trials: 1)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.25)
        _ = try store.write { db in try db.execute("UPDATE trials SET attempts = 2") }

        // When a worker promotes it
        let promote: (SweepState) -> SweepJob = { state in
            self.first(.paused, state).map { .promote(trialID: $0.id, fromRung: 0) } ?? .wait
        }
        let claim = try #require(try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30, decide: promote))

        // Then it runs again, its attempts counted from 1, its rung marked promoted
        #expect(claim.trial.status == .running && claim.trial.attempts == 1 && claim.trial.rung == 0)
        let state = try #require(try store.sweepState(id: sweep.id))
        #expect(state.rungs.first?.promotedAt != nil)
        // And a second promotion of the same rung is refused, writing nothing
        let again = #expect(throws: StoreError.self) {
            try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { _ in
                .promote(trialID: claim.trial.id, fromRung: 0)
            }
        }
        #expect(again?.kind == .invalidArgument)
        #expect(try store.sweepState(id: sweep.id) == state)
    }

    @Test(arguments: TestEngine.all) func racingWorkersEachPromoteADifferentTrial(engine: TestEngine) async throws {
        // Given three paused trials and 8 connections
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let sweep = try ashaSweep(store, trials: 3)
        for loss in [0.3, 0.2, 0.1] { try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: loss) }
        let stores = try (0..<8).map { _ in try Store.open(location: path) }

        // When all decide at once to promote the first paused trial they see
        let claimed = try await withThrowingTaskGroup(of: Int?.self) { group in
            for store in stores {
                group.addTask {
                    try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { state in
                        state.trials.first { $0.status == .paused }
                            .map { .promote(trialID: $0.id, fromRung: 0) } ?? .wait
                    }?.trial.number
                }
            }
            return try await group.reduce(into: [Int]()) { if let n = $1 { $0.append(n) } }
        }

        // Then each decision saw the ones before it: three promotions, one per trial
        #expect(claimed.sorted() == [1, 2, 3])
        #expect(try store.sweepState(id: sweep.id)?.rungs.allSatisfy { $0.promotedAt != nil } == true)
    }

    @Test(arguments: TestEngine.all) func aRungIsRecordedOnlyByTheTrialsHolder(engine: TestEngine) throws {
        // Given a promoted trial whose claim another worker took over
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try ashaSweep(store, trials: 1)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.25)
        let stale = try #require(
            try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { state in
                .promote(trialID: state.trials[0].id, fromRung: 0)
            })
        _ = try store.write { db in
            try db.execute("UPDATE trials SET worker_token = 'another', lease_expires_at = NULL")
        }

        // When the first worker reports the next rung
        let error = #expect(throws: StoreError.self) {
            try store.reachRung(stale, rung: 1, epoch: 1, last: false)
        }

        // Then nothing is written
        #expect(error?.kind == .trialLost(sweepID: sweep.id, number: 1))
        let state = try #require(try store.sweepState(id: sweep.id))
        #expect(state.rungs.count == 1 && state.trials[0].status == .running)
    }

    @Test(arguments: TestEngine.all) func theEndPrunesThePausedTrials(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try ashaSweep(store, trials: 2)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.25)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.5)

        let none = try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { state in
            .finish(pruned: state.trials.map(\.id))
        }

        #expect(none == nil)
        #expect(try store.trials(sweepID: sweep.id).map(\.status) == [.pruned, .pruned])
        let progress = try #require(try store.sweepProgress(id: sweep.id).first)
        #expect(progress.pruned == 2 && progress.isFinished)
    }

    @Test(arguments: TestEngine.all) func plainClaimsLeaveADecidingSweepsPendingTrialsAlone(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try ashaSweep(store, trials: 2)

        #expect(try store.claimTrial(sweepID: sweep.id, leaseSeconds: 30) == nil)
        #expect(try store.claimTrial(sweepID: nil, leaseSeconds: 30) == nil)
    }

    @Test(arguments: TestEngine.all) func aProposedTrialIsAddedWithTheNextNumberAndClaimed(engine: TestEngine) throws {
        // Given a TPE sweep of 3 trials with 1 written at its creation
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let sweep = try store.createSweep(
            grid: "{}", search: SweepSearch(epochs: 9, tpeStartup: 1), size: 3
        ) { id in [#"{"sweep": \#(id), "seed": 1}"#] }
        #expect(sweep.size == 3)
        #expect(try store.sweepProgress(id: sweep.id).first?.pending == 3)

        // When a worker adds the next trial
        let claim = try #require(
            try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { _ in
                .add(settings: #"["--seed","2"]"#)
            })

        // Then it is trial 2, running, held by that worker; one more is still to come
        #expect(claim.trial.number == 2 && claim.trial.status == .running)
        #expect(claim.trial.settings == #"["--seed","2"]"#)
        let progress = try #require(try store.sweepProgress(id: sweep.id).first)
        #expect(progress.pending == 2 && progress.running == 1)
    }

    @Test(arguments: TestEngine.all)
    func aRungReachedWhileAPromotionIsDecidedIsStampedAfterIt(engine: TestEngine) throws {
        // Given trials 1 and 2 paused at rung 0, and trial 3 trained through rung 0's epoch
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let store = try Store.open(location: path)
        let sweep = try ashaSweep(store, trials: 3)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.1)
        try trainToRung(store, sweep, rung: 0, epoch: 1, valLoss: 0.2)
        let third = try startAndTrain(store, sweep, through: 1, valLoss: 0.05)

        // When a worker promotes trial 1, slowly (its decision takes 300 ms), while another
        // records trial 3's rung on a connection of its own
        let other = try Store.open(location: path)
        let (deciding, promoted) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let promoting = Mutex<Result<TrialClaim?, any Error>?>(nil)
        DispatchQueue.global().async {
            let result = Result {
                try store.claimSweepJob(sweepID: sweep.id, leaseSeconds: 30) { state in
                    deciding.signal()
                    usleep(300_000)
                    return self.first(.paused, state).map { .promote(trialID: $0.id, fromRung: 0) } ?? .wait
                }
            }
            promoting.withLock { $0 = result }
            promoted.signal()
        }
        #expect(deciding.wait(timeout: .now() + 60) == .success)
        try other.reachRung(third, rung: 0, epoch: 1, last: false)
        #expect(promoted.wait(timeout: .now() + 60) == .success)
        let claim = try #require(try promoting.withLock { try $0?.get() })

        // Then the rung, which the decision did not see, is stamped after the promotion: the
        // record says in which order the rule saw its results
        let rungs = try #require(try store.sweepState(id: sweep.id)).rungs
        let promotedAt = try #require(rungs.first { $0.trialID == claim.trial.id }?.promotedAt)
        let reachedAt = try #require(rungs.first { $0.trialID == third.trial.id }?.reachedAt)
        #expect(promotedAt < reachedAt)
    }

    @Test(arguments: TestEngine.all) func aTimestampIsTheWritingStatementsTime(engine: TestEngine) throws {
        // Given a write transaction that reads the store's clock twice, 20 ms apart
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let (first, second) = try store.write { db in
            let first = try db.scalar("SELECT \(store.dialect.now)", as: String.self)
            usleep(20_000)
            return (first, try db.scalar("SELECT \(store.dialect.now)", as: String.self))
        }

        // Then the second is later, on both engines (SQLite's 'now' is the statement's; so is
        // PostgreSQL's statement_timestamp(), where now() would be the transaction's start)
        #expect(try #require(first) < (try #require(second)))
    }
}
