import Testing

@testable import Training

/// The schedule and early stopping as pure functions of the settings and recorded epochs.
@Suite(.timeLimit(.minutes(10)))
struct LearningRateScheduleTests {
    typealias Kind = LearningRateSchedule.Kind

    func history(_ losses: [Double], from first: Int = 1) -> [RecordedEpoch] {
        losses.enumerated().map { RecordedEpoch(epoch: first + $0, valLoss: $1) }
    }

    @Test func textRoundTripsAndBadTextSaysWhy() throws {
        let kinds: [Kind] = [
            .constant, .cosine, .step(every: 100, factor: 0.5), .plateau(patience: 10, factor: 0.1),
        ]
        for kind in kinds {
            #expect(try Kind.parse(kind.description) == kind)
        }
        #expect(Kind.step(every: 100, factor: 0.5).description == "step:100:0.5")
        #expect(throws: Kind.ParseError.unknown("linear")) { try Kind.parse("linear") }
        #expect(throws: Kind.ParseError.unknown("step:5")) { try Kind.parse("step:5") }
        #expect(throws: Kind.ParseError.unknown("cosine:2")) { try Kind.parse("cosine:2") }
        #expect(throws: Kind.ParseError.period("0")) { try Kind.parse("step:0:0.5") }
        #expect(throws: Kind.ParseError.period("x")) { try Kind.parse("plateau:x:0.5") }
        #expect(throws: Kind.ParseError.factor("1")) { try Kind.parse("step:5:1") }
        #expect(throws: Kind.ParseError.factor("0")) { try Kind.parse("plateau:5:0") }
        #expect(throws: Kind.ParseError.factor("1e-50")) { try Kind.parse("step:5:1e-50") }
    }

    @Test func constantIgnoresHistoryAndFloor() {
        let s = LearningRateSchedule(kind: .constant, initial: 0.1, minimum: 0.5, plannedEpochs: 10)
        #expect((1...10).allSatisfy { s.learningRate(epoch: $0, history: []) == 0.1 })
    }

    @Test func stepMultipliesEveryPeriodDownToTheFloor() {
        let s = LearningRateSchedule(
            kind: .step(every: 2, factor: 0.5), initial: 0.8, minimum: 0.15, plannedEpochs: 10)
        let rates = (1...8).map { s.learningRate(epoch: $0, history: []) }
        #expect(rates == [0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.15, 0.15])
    }

    @Test func cosineStartsAtTheRateAndEndsAboveTheMinimum() {
        let s = LearningRateSchedule(kind: .cosine, initial: 0.1, minimum: 0.01, plannedEpochs: 4)
        let rates = (1...4).map { s.learningRate(epoch: $0, history: []) }
        #expect(rates[0] == 0.1)
        #expect(abs(rates[2] - 0.055) < 1e-15)  // halfway: the mean of the two
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 })
        #expect(rates[3] > 0.01)
        // The planned epochs are part of the rule, so changing them is a change of setting.
        #expect(s.dependsOnPlannedEpochs)
        let constant = LearningRateSchedule(kind: .constant, initial: 0.1, plannedEpochs: 4)
        #expect(!constant.dependsOnPlannedEpochs)
    }

    @Test func plateauReducesAfterPatienceEpochsWithoutImprovementAndRestartsTheCount() {
        let s = LearningRateSchedule(
            kind: .plateau(patience: 2, factor: 0.5), initial: 1, minimum: 0.2, plannedEpochs: 20)
        // Best at 2; 3 and 4 don't improve → epoch 5 at 0.5; 5, 6 don't → epoch 7 at 0.25;
        // 7 improves; 8, 9 don't → epoch 10 at the floor 0.2.
        let h = history([1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.8, 0.85, 0.81])
        let rates = (1...10).map { s.learningRate(epoch: $0, history: h) }
        #expect(rates == [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2])
        // Only epochs before the one asked for count.
        #expect(
            s.learningRate(epoch: 5, history: h)
                == s.learningRate(epoch: 5, history: Array(h.prefix(4))))
    }

    @Test func earlyStoppingCountsFromTheBestEpoch() {
        let stop = EarlyStopping(patience: 3)
        let h = history([1.0, 0.8, 0.9, 0.8, 0.85])
        // Ties are not improvements: the best is the earliest of the lowest, as in run_summary.
        #expect(stop.bestEpoch(in: h) == 2)
        #expect(!stop.shouldStop(after: Array(h.prefix(4))))
        #expect(stop.shouldStop(after: h))
        #expect(!stop.shouldStop(after: []))
    }

    @Test func minDeltaIgnoresSmallImprovements() {
        let h = history([1.0, 0.95, 0.92, 0.91])
        #expect(EarlyStopping(patience: 2, minDelta: 0.1).bestEpoch(in: h) == 1)
        #expect(EarlyStopping(patience: 2, minDelta: 0.1).shouldStop(after: Array(h.prefix(3))))
        #expect(EarlyStopping(patience: 2, minDelta: 0.01).bestEpoch(in: h) == 3)
    }

    @Test func changedControlsAreTold() {
        var a = Hyperparameters()
        a.lrSchedule = .cosine
        var b = a
        #expect(a.sameControls(as: b))
        b.epochs += 1  // cosine spreads over the planned epochs
        #expect(!a.sameControls(as: b))
        a.lrSchedule = .step(every: 5, factor: 0.5)
        b.lrSchedule = a.lrSchedule
        #expect(a.sameControls(as: b))
        let changes: [(inout Hyperparameters) -> Void] = [
            { $0.weightDecay = 1e-4 }, { $0.patience = 5 }, { $0.minDelta = 0.01 },
            { $0.minLearningRate = 0.01 },
        ]
        for change in changes {
            var c = a
            change(&c)
            #expect(!a.sameControls(as: c))
        }
    }
}
