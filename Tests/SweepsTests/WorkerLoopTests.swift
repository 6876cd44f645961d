import Foundation
import Numerics
import Store
import TestSupport
import Testing
import Training

@testable import Sweeps

/// The worker loop in process, one worker on a small train limit: it trains every trial of
/// its sweep as the settings say, stops when asked, retries errors and fails divergence.
/// Kills, leases and races between processes are ReliabilityTests' WorkerTests.
@Suite(.blocksItsThread, .serialized, .timeLimit(.minutes(5))) struct WorkerLoopTests {
    @Test(arguments: TestEngine.all) func oneWorkerTrainsEveryTrialAsItsSettingsSay(engine: TestEngine) throws {
        // Given a sweep of two learning rates
        let database = try TestDatabase(engine)
        let store = try database.open()
        let created = try store.createSweep(smallPlan(learningRates: [0.05, 0.5]))

        // When one worker works on it
        let end = try WorkerLoop(store: store, sweepID: created.sweep.id).run()

        // Then it trained both and found nothing left
        #expect(end == .nothingLeft(trained: 2))
        let trials = try store.trials(sweepID: created.sweep.id)
        #expect(trials.map(\.status) == [.completed, .completed])
        #expect(trials.map(\.attempts) == [1, 1])
        // And each run has its trial's settings
        for (trial, settings) in zip(trials, created.trials) {
            let runID = try #require(trial.runID)
            let summary = try #require(try store.summary(runID: runID))
            #expect(summary.run.name == settings.name)
            #expect(try Hyperparameters(summary.run) == settings.hyperparameters)
            #expect(summary.run.sweepID == created.sweep.id)
            #expect(summary.run.trainSize == 300 && summary.run.valSize == 100)
            #expect(summary.epochsDone == 2)
        }
    }

    @Test func aTrialsRunEqualsTheSameSettingsTrainedAlone() throws {
        // Given a one-trial sweep trained by a worker
        let database = try TestDatabase(.sqlite)
        let store = try database.open()
        let created = try store.createSweep(smallPlan(learningRates: [0.1], epochs: 3))
        _ = try WorkerLoop(store: store).run()
        let trialRun = try #require(try store.trials(sweepID: created.sweep.id).first?.runID)

        // When the same settings are trained as a plain run
        let settings = try #require(created.trials.first)
        let alone = try Session(store: store).train(
            settings.hyperparameters, data: try settings.data.prepare())

        // Then the last checkpoints are bit for bit the same
        let a = try #require(try store.checkpoint(runID: trialRun, epoch: 3))
        let b = try #require(try store.checkpoint(runID: alone.runID, epoch: 3))
        #expect(a.weights == b.weights)
    }

    @Test func maxTrialsStopsTheWorkerAfterThatMany() throws {
        let database = try TestDatabase(.sqlite)
        let store = try database.open()
        let created = try store.createSweep(smallPlan(learningRates: [0.05, 0.1, 0.5]))

        var loop = WorkerLoop(store: store)
        loop.maxTrials = 1
        #expect(try loop.run() == .reachedLimit(trained: 1))
        #expect(
            try store.trials(sweepID: created.sweep.id).map(\.status)
                == [.completed, .pending, .pending])
    }

    @Test func aStopGivesTheTrialBackAndTheNextWorkerContinuesItsRun() throws {
        // Given a worker asked to stop once its first epoch is recorded
        let database = try TestDatabase(.sqlite)
        let store = try database.open()
        let created = try store.createSweep(smallPlan(learningRates: [0.1], epochs: 4))
        let epochs = Counter()
        var loop = WorkerLoop(store: store)
        loop.sessionEvents.epoch = { _, _ in epochs.count += 1 }
        loop.shouldStop = { epochs.count >= 1 }

        // Then it stops with the trial pending and its run interrupted
        #expect(try loop.run() == .stopped(trained: 1))
        let trial = try #require(try store.trials(sweepID: created.sweep.id).first)
        #expect(trial.status == .pending)
        let runID = try #require(trial.runID)
        #expect(try store.run(id: runID)?.status == .interrupted)

        // When another worker starts, it resumes that run to the end
        #expect(try WorkerLoop(store: store).run() == .nothingLeft(trained: 1))
        let after = try #require(try store.trials(sweepID: created.sweep.id).first)
        #expect(after.status == .completed && after.runID == runID && after.attempts == 2)
        #expect(try store.summary(runID: runID)?.epochsDone == 4)
    }

    @Test(arguments: TestEngine.all) func anErrorIsRetriedThenTheTrialFails(engine: TestEngine) throws {
        // Given a trial whose data directory does not exist on this worker
        let database = try TestDatabase(engine)
        let store = try database.open()
        let created = try store.createSweep(smallPlan(learningRates: [0.1]))
        var loop = WorkerLoop(store: store)
        loop.dataDirectory = database.directory.appendingPathComponent("nowhere").path
        var retried: [Bool] = []
        loop.events.settled = { _, _, decision in retried.append(decision.isRetry) }

        // When the worker runs, each attempt fails
        #expect(try loop.run() == .nothingLeft(trained: 3))

        // Then the trial was tried three times, then failed with the reason
        #expect(retried == [true, true, false])
        let trial = try #require(try store.trials(sweepID: created.sweep.id).first)
        #expect(trial.status == .failed && trial.attempts == 3)
        #expect(trial.failureReason?.contains("nowhere") == true, "\(trial.failureReason ?? "")")
    }

    @Test(arguments: TestEngine.all) func aDivergingTrialFailsOnceAndTheOthersStillTrain(engine: TestEngine) throws {
        let database = try TestDatabase(engine)
        let store = try database.open()
        let created = try store.createSweep(
            smallPlan(learningRates: [0.1, 1e30], activation: [.relu]))

        #expect(try WorkerLoop(store: store).run() == .nothingLeft(trained: 2))

        let trials = try store.trials(sweepID: created.sweep.id)
        #expect(trials.map(\.status) == [.completed, .failed])
        #expect(trials.map(\.attempts) == [1, 1])
        #expect(trials[1].failureReason?.contains("NaN") == true, "\(trials[1].failureReason ?? "")")
    }

    @Test func anUnknownSweepIsRefused() throws {
        let database = try TestDatabase(.sqlite)
        #expect(throws: SweepError.unknownSweep(9)) {
            try WorkerLoop(store: try database.open(), sweepID: 9).run()
        }
    }
}

/// A count the session's callbacks bump and the stop check reads (same thread).
final class Counter: @unchecked Sendable {
    var count = 0
}
