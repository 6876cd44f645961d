import Foundation
import Numerics
import TestSupport
import Testing
import Training

@testable import Sweeps

/// Expansion: a grid's combinations in order, labels, the sweeps.grid JSON, repeated points,
/// and random draws that the same command repeats.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct GridTests {
    static let data = DataSource(directory: "/data/mnist", validationSize: 200, trainLimit: 500)

    func grid(
        learningRate: [Double] = [0.1], hidden: [String] = ["100"],
        activation: [Activation] = [.sigmoid], seed: [UInt64] = [1]
    ) -> Grid {
        Grid(
            learningRate: learningRate, hidden: hidden, activation: activation,
            loss: [.crossEntropy], momentum: [0], batchSize: [200], seed: seed)
    }

    @Test func combinationsRunLearningRateSlowestAndSeedFastest() {
        // Given a 2 × 2 × 2 grid
        let g = grid(learningRate: [0.05, 0.5], hidden: ["20", "10,10"], seed: [1, 2])

        // Then its 8 combinations come in mixed-radix order, the seed changing fastest
        #expect(g.count == 8)
        #expect(
            g.combinations.map { "\($0.learningRate)/\($0.hidden)/\($0.seed)" } == [
                "0.05/20/1", "0.05/20/2", "0.05/10,10/1", "0.05/10,10/2",
                "0.5/20/1", "0.5/20/2", "0.5/10,10/1", "0.5/10,10/2",
            ])
    }

    @Test func trialsCarryTypedSettingsNamedByTheirVariedValues() {
        // Given a grid of two rates and two weight decays
        let plan = SweepPlan(
            grid: grid(learningRate: [0.05, 0.5]),
            controls: ControlGrid(weightDecay: [0, 1e-4], patience: [5]), epochs: 3,
            keepEvery: 7, data: Self.data)

        // When it is expanded for sweep 4
        let trials = plan.trials(sweepID: 4)

        // Then each trial has its own typed settings and a name from the varied values
        #expect(
            trials.map(\.name) == [
                "sweep-4/lr=0.05,wd=0.0", "sweep-4/lr=0.05,wd=0.0001", "sweep-4/lr=0.5,wd=0.0",
                "sweep-4/lr=0.5,wd=0.0001",
            ])
        #expect(trials.map(\.hyperparameters.learningRate) == [0.05, 0.05, 0.5, 0.5])
        #expect(trials.map(\.hyperparameters.weightDecay) == [0, 1e-4, 0, 1e-4])
        #expect(trials.allSatisfy { $0.hyperparameters.patience == 5 && $0.hyperparameters.epochs == 3 })
        #expect(trials.allSatisfy { $0.keepEvery == 7 && $0.data == Self.data })
        #expect(trials.map(\.label).first == "lr=0.05,wd=0.0")
    }

    @Test func aPatienceOfZeroIsNoEarlyStopping() {
        let plan = SweepPlan(
            grid: grid(), controls: ControlGrid(patience: [0, 10]), epochs: 3, data: Self.data)
        #expect(plan.trials(sweepID: 1).map(\.hyperparameters.patience) == [nil, 10])
    }

    @Test func aRepeatedGridPointIsOneTrial() {
        // Given a list that repeats a seed
        let plan = SweepPlan(grid: grid(seed: [1, 1, 2]), epochs: 1, data: Self.data)

        // Then the repeated point is left out, and the first of each kept in order
        let trials = plan.trials(sweepID: 1)
        #expect(plan.count == 3)
        #expect(trials.map(\.hyperparameters.seed) == [1, 2])
    }

    @Test func gridJSONKeepsItsPublishedForm() throws {
        // The sweeps.grid text of `sweep --learning-rate 0.05,0.5 --hidden 20,10-10
        // --batch-size 50` (pinned by SweepTests too) and with swept controls
        var g = grid(learningRate: [0.05, 0.5], hidden: ["20", "10,10"])
        g.batchSize = [50]
        #expect(
            try SweepPlan(grid: g, epochs: 1, data: Self.data).json()
                == #"{"activation":["sigmoid"],"batch_size":[50],"hidden":["20","10,10"],"learning_rate":[0.05,0.5],"loss":["cross-entropy"],"momentum":[0],"seed":[1]}"#)
        let controls = ControlGrid(lrSchedule: [.constant, .cosine])
        #expect(
            try SweepPlan(grid: g, controls: controls, epochs: 1, data: Self.data).json()
                .contains(#""lr_schedule":["constant","cosine"]"#))
    }

    // MARK: - Random draws

    static let ranges = RandomRanges(
        learningRate: DrawRange(low: 0.01, high: 1, log: true, integer: false),
        hidden: DrawRange(low: 16, high: 64, log: false, integer: true),
        momentum: DrawRange(low: 0, high: 0.9, log: false, integer: false))

    func drawn(_ count: Int, seed: UInt64) -> [TrialSettings] {
        var g = grid(activation: [.sigmoid, .relu])
        g.draw(count, seed: seed, ranges: Self.ranges)
        return SweepPlan(grid: g, epochs: 1, data: Self.data).trials(sweepID: 1)
    }

    @Test func theSameSampleSeedDrawsTheSameTrials() {
        // Given the same search drawn twice with --sample-seed 7, and once with 8
        let first = drawn(20, seed: 7), again = drawn(20, seed: 7), other = drawn(20, seed: 8)

        // Then the first two are equal, trial for trial, and the third differs
        #expect(first.count == 20)
        #expect(first == again)
        #expect(first.map(\.hyperparameters) != other.map(\.hyperparameters))
    }

    @Test func drawsStayInTheirRangesWithFourSignificantDigits() {
        let trials = drawn(200, seed: 1)
        for h in trials.map(\.hyperparameters) {
            #expect((0.01...1).contains(h.learningRate))
            #expect(h.hidden.count == 1 && (16...64).contains(h.hidden[0]))
            #expect((0...0.9).contains(h.momentum))
            // 4 significant digits: scaled to [1000, 10000) it is a whole number (but for the
            // scaling's rounding).
            let scaled = h.learningRate * pow(10, 3 - floor(log10(h.learningRate)))
            #expect(abs(scaled - scaled.rounded()) < 1e-6, "\(h.learningRate)")
        }
        // Log-uniform: about half the rates lie below the range's geometric middle, 0.1.
        let below = trials.filter { $0.hyperparameters.learningRate < 0.1 }.count
        #expect((60...140).contains(below), "\(below) of 200 below 0.1")
        #expect(Set(trials.map(\.hyperparameters.activation)) == [.sigmoid, .relu])
    }

    @Test func drawnTrialsAreLabelledByTheirDrawnValues() {
        let trials = drawn(3, seed: 1)
        #expect(trials.allSatisfy { $0.name.hasPrefix("sweep-1/lr=") && $0.name.contains(",hidden=") })
    }
}
