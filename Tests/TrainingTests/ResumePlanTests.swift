import Testing

@testable import Store
@testable import Training

/// The resume policy as a pure value: what `resume` does for each kind of run and request.
@Suite(.timeLimit(.minutes(10))) struct ResumePlanTests {
    /// A run planned for `epochs` epochs with `status`, lr 0.1, batch 200, momentum 0, keep 50.
    func facts(
        status: Run.Status, epochs: Int, last: Int?, best: Int?, parentEpoch: Int? = nil
    ) -> ResumePlan.Facts {
        let run = Run(
            id: 1, name: "run-1", status: status, parentRunID: parentEpoch.map { _ in 9 },
            parentEpoch: parentEpoch, createdAt: "", finishedAt: nil, learningRate: 0.1,
            batchSize: 200, epochs: epochs, hidden: "100", activation: "sigmoid",
            loss: "cross-entropy", momentum: 0, seed: 1, trainSize: 1, valSize: 1,
            datasetPath: "", datasetChecksum: "", codeVersion: "", kernelPath: "",
            keepEvery: 50, failureReason: nil, pid: nil, host: nil, heartbeatAt: nil,
            sweepID: nil)
        return ResumePlan.Facts(run: run, lastEpoch: last, bestEpoch: best)
    }

    func changes(
        epochs: Int? = nil, learningRate: Double? = nil, keepEvery: Int? = nil,
        name: String? = nil
    ) -> ResumeChanges {
        var c = ResumeChanges()
        c.epochs = epochs
        c.learningRate = learningRate
        c.keepEvery = keepEvery
        c.name = name
        return c
    }

    @Test func interruptedRunContinuesInPlaceAfterItsLastEpoch() throws {
        let plan = try ResumePlan.decide(
            facts(status: .interrupted, epochs: 20, last: 7, best: 5), from: nil,
            changes: changes())
        #expect(plan == .inPlace(after: 7, through: 20))
    }

    @Test func completedRunWithNothingLeftDoesNothing() throws {
        // best < last: a fork from best with the same settings would retrace the parent
        let notLast = try ResumePlan.decide(
            facts(status: .completed, epochs: 1000, last: 1000, best: 402), from: nil,
            changes: changes())
        // best = last
        let last = try ResumePlan.decide(
            facts(status: .completed, epochs: 20, last: 20, best: 20), from: nil,
            changes: changes())
        // an explicit earlier epoch, still the same settings
        let earlier = try ResumePlan.decide(
            facts(status: .completed, epochs: 1000, last: 1000, best: 402), from: .epoch(250),
            changes: changes(epochs: 400))

        #expect(notLast == .nothingToDo(lastEpoch: 1000, through: 1000, stoppedEarly: false))
        #expect(last == .nothingToDo(lastEpoch: 20, through: 20, stoppedEarly: false))
        #expect(earlier == .nothingToDo(lastEpoch: 1000, through: 400, stoppedEarly: false))
    }

    @Test func runThatStoppedEarlyHasNothingToDoWithItsOwnPatience() throws {
        // A 300-epoch run that patience ended at epoch 33
        var stopped = facts(status: .completed, epochs: 300, last: 33, best: 23)
        stopped.run.patience = 10
        stopped.stoppedEarlyAt = 33
        let again = try ResumePlan.decide(stopped, from: nil, changes: changes(epochs: 400))
        var off = ResumeChanges()
        off.patience = 0
        let trainOn = try ResumePlan.decide(stopped, from: nil, changes: off)

        #expect(again == .nothingToDo(lastEpoch: 33, through: 33, stoppedEarly: true))
        #expect(trainOn == .fork(from: 23, through: 300))
    }

    @Test func moreEpochsWithTheSameSettingsContinueInPlaceFromTheLast() throws {
        let plan = try ResumePlan.decide(
            facts(status: .completed, epochs: 1000, last: 1000, best: 402), from: .best,
            changes: changes(epochs: 2000))
        #expect(plan == .inPlace(after: 1000, through: 2000))
    }

    @Test func changedSettingOrNameForks() throws {
        let completed = facts(status: .completed, epochs: 1000, last: 1000, best: 402)
        let learningRate = try ResumePlan.decide(
            completed, from: nil, changes: changes(epochs: 600, learningRate: 0.01))
        let name = try ResumePlan.decide(
            completed, from: .epoch(300), changes: changes(epochs: 500, name: "again"))
        let interrupted = try ResumePlan.decide(
            facts(status: .interrupted, epochs: 20, last: 7, best: 5), from: nil,
            changes: changes(learningRate: 0.05))

        #expect(learningRate == .fork(from: 402, through: 600))
        #expect(name == .fork(from: 300, through: 500))
        #expect(interrupted == .fork(from: 7, through: 20))
    }

    @Test func newRetentionOverRecordedEpochsForksForTheirCheckpoints() throws {
        let plan = try ResumePlan.decide(
            facts(status: .completed, epochs: 1000, last: 1000, best: 402), from: .epoch(250),
            changes: changes(epochs: 300, keepEvery: 1))
        #expect(plan == .fork(from: 250, through: 300))
    }

    @Test func runWithoutEpochsRestartsInPlaceFromWhereItBegan() throws {
        // A run that diverged in its first epoch, resumed with a smaller learning rate
        let fresh = try ResumePlan.decide(
            facts(status: .failed, epochs: 20, last: nil, best: nil), from: nil,
            changes: changes(learningRate: 0.01))
        // A fork that was stopped before its first epoch
        let child = try ResumePlan.decide(
            facts(status: .interrupted, epochs: 50, last: nil, best: nil, parentEpoch: 30),
            from: .last, changes: changes())

        #expect(fresh == .inPlace(after: 0, through: 20))
        #expect(child == .inPlace(after: 30, through: 50))
        #expect(throws: TrainingError.noRecordedEpoch(runID: 1)) {
            try ResumePlan.decide(
                facts(status: .failed, epochs: 20, last: nil, best: nil), from: .best,
                changes: changes())
        }
    }

    @Test func impossibleRequestsAreRefused() {
        let interrupted = facts(status: .interrupted, epochs: 20, last: 7, best: 5)
        #expect(throws: TrainingError.noSuchEpoch(runID: 1, epoch: 9, lastEpoch: 7)) {
            try ResumePlan.decide(interrupted, from: .epoch(9), changes: changes())
        }
        #expect(throws: TrainingError.nothingAfter(runID: 1, epoch: 7, planned: 6)) {
            try ResumePlan.decide(
                interrupted, from: nil, changes: changes(epochs: 6, learningRate: 0.2))
        }
    }
}
