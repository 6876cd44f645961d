import Foundation
import Importance
import Numerics
import Store
import TestSupport
import Testing
import Training

@testable import Sweeps

/// What a sweep found: its settings' search axes, importance on a sweep written into the
/// store, the best settings, and each configuration's mean and deviation over its seeds.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct SweepFindingsTests {
    func hyperparameters(
        lr: Double = 0.1, momentum: Double = 0, hidden: [Int] = [100],
        activation: Activation = .sigmoid, seed: UInt64 = 1
    ) -> Hyperparameters {
        var h = Defaults.hyperparameters
        h.learningRate = lr
        h.momentum = momentum
        h.hidden = hidden
        h.activation = activation
        h.seed = seed
        return h
    }

    @Test func aRandomRangeGivesItsEndsAndScale() {
        let values = [hyperparameters(lr: 0.02), hyperparameters(lr: 0.5)]
        let range = DrawRange("0.01:1:log")
        #expect(range == DrawRange(low: 0.01, high: 1, log: true, integer: false))
        #expect(
            SweptSetting.searchAxis(.learningRate, values: values, range: range)
                == .numeric("learning_rate", lower: 0.01, upper: 1, log: true))
        #expect(
            SweptSetting.searchAxis(.momentum, values: values, range: DrawRange("0:0.9"))
                == .numeric("momentum", lower: 0, upper: 0.9, log: false))
    }

    @Test func theRangesARandomSweepRecordsAreReadBackFromItsGrid() throws {
        // Given a random search's plan, as `sweep --random` writes sweeps.grid
        var grid = Grid(
            learningRate: [0.1], hidden: ["100"], activation: [.sigmoid], loss: [.crossEntropy],
            momentum: [0], batchSize: [50], seed: [1])
        grid.draw(
            5, seed: 1,
            ranges: RandomRanges(
                learningRate: DrawRange(low: 0.01, high: 1, log: true, integer: false),
                hidden: DrawRange(low: 16, high: 256, log: false, integer: true)))
        let plan = SweepPlan(grid: grid, epochs: 1, data: DataSource(directory: "/d", validationSize: 10, trainLimit: nil))

        // Then the findings read its ranges, and only those
        let ranges = SweepFindings.ranges(grid: try plan.json())
        #expect(ranges[.learningRate] == DrawRange(low: 0.01, high: 1, log: true, integer: false))
        #expect(ranges[.hidden] == DrawRange(low: 16, high: 256, log: false, integer: false))
        #expect(ranges.count == 2)
        // And a plain grid, or text that is not JSON, has none
        #expect(SweepFindings.ranges(grid: #"{"learning_rate":[0.1,0.2]}"#).isEmpty)
        #expect(SweepFindings.ranges(grid: "not json").isEmpty)
    }

    @Test func aRangeThatDoesNotReadIsNoRange() {
        for text in ["", "1", "0:1:lin", "0:1:log", "1:0", "a:b", "0.1:1:log:x"] {
            #expect(DrawRange(text) == nil, "\(text)")
        }
    }

    @Test func aListSpanningTwoDecadesIsLogAndANarrowerOneLinear() {
        let wide = [0.001, 0.01, 0.1].map { hyperparameters(lr: $0) }
        #expect(
            SweptSetting.searchAxis(.learningRate, values: wide, range: nil)
                == .numeric("learning_rate", lower: 0.001, upper: 0.1, log: true))
        let narrow = [0.01, 0.05, 0.5].map { hyperparameters(lr: $0) }
        #expect(
            SweptSetting.searchAxis(.learningRate, values: narrow, range: nil)
                == .numeric("learning_rate", lower: 0.01, upper: 0.5, log: false))
        // A list with 0 in it cannot be measured on a log scale
        let momentum = [0, 0.5, 0.9].map { hyperparameters(momentum: $0) }
        #expect(
            SweptSetting.searchAxis(.momentum, values: momentum, range: nil)
                == .numeric("momentum", lower: 0, upper: 0.9, log: false))
    }

    @Test func namesLayerListsAndSeedsAreCategorical() {
        let values = [
            hyperparameters(hidden: [100], activation: .sigmoid, seed: 1),
            hyperparameters(hidden: [256, 128], activation: .relu, seed: 2),
            hyperparameters(hidden: [100], activation: .relu, seed: 3),
        ]
        #expect(SweptSetting.searchAxis(.hidden, values: values, range: nil) == .categorical("hidden", count: 2))
        #expect(
            SweptSetting.searchAxis(.activation, values: values, range: nil)
                == .categorical("activation", count: 2))
        #expect(SweptSetting.searchAxis(.seed, values: values, range: nil) == .categorical("seed", count: 3))
    }

    @Test(arguments: Sandbox.Store.all)
    func aMetricOfTheLearningRateAloneRanksItFirstByAWideMargin(engine: Sandbox.Store) throws {
        // Given a sweep of 5 learning rates × 4 momenta written straight into the store, each
        // trial's best validation loss a function of its learning rate alone
        let database = try TestDatabase(engine)
        let store = try database.open()
        let plan = SweepPlan(
            grid: Grid(
                learningRate: [0.001, 0.003, 0.01, 0.1, 1], hidden: ["8"], activation: [.sigmoid],
                loss: [.crossEntropy], momentum: [0, 0.3, 0.6, 0.9], batchSize: [50], seed: [1]),
            epochs: 1, data: DataSource(directory: "/data/mnist", validationSize: 100, trainLimit: 300))
        let created = try store.createSweep(plan)
        while let claim = try store.claimTrial(sweepID: created.sweep.id, leaseSeconds: 30) {
            let h = try claim.trial.decodedSettings().hyperparameters
            let (run, lease) = try store.createRun(
                NewRun(
                    learningRate: h.learningRate, batchSize: h.batchSize, epochs: 1, hidden: "8",
                    activation: "sigmoid", loss: "cross-entropy", momentum: h.momentum, seed: 1,
                    trainSize: 300, valSize: 100, datasetPath: "/data/mnist", datasetChecksum: "x",
                    codeVersion: "test", kernelPath: "scalar", keepEvery: 1, sweepID: created.sweep.id),
                leaseSeconds: 30, for: claim)
            let loss = 0.1 + pow(log10(h.learningRate) + 1, 2)
            try store.recordEpoch(
                EpochRecord(
                    runID: run.id, epoch: 1, trainLoss: loss, trainAccuracy: 0.5, valLoss: loss,
                    valAccuracy: 0.5, seconds: 1),
                checkpoint: CheckpointRecord(runID: run.id, epoch: 1, weights: [0]), keepEvery: 1,
                lease: lease)
            try store.finishRun(lease, status: .completed)
            try store.finishTrial(claim, status: .completed)
        }

        // When its findings are read back
        let findings = SweepFindings(
            grid: created.sweep.grid, trials: try store.trials(sweepID: created.sweep.id),
            summaries: try store.summaries(sweepID: created.sweep.id))

        // Then the learning rate comes first, by a wide margin, and momentum a distant second
        #expect(findings.finished == 20)
        #expect(findings.varying == [.learningRate, .momentum])
        let shares = try #require(findings.importance)
        #expect(shares.map(\.setting) == [.learningRate, .momentum])
        #expect(shares[0].share > 0.9 && shares[1].share < 0.1)
        let total: Double = shares.map(\.share).reduce(0, +)
        #expect(abs(total - 1) < 1e-9)
        // And the settings that never varied are listed, not ranked
        #expect(findings.constant.contains(.activation) && findings.constant.contains(.seed))
        #expect(!findings.constant.contains(.learningRate))
        // And the best values are those of a trial at lr = 0.1
        #expect(findings.bestSettings.first?.setting == .learningRate)
        #expect(findings.bestSettings.first?.value == "0.1")
        // And no seed varies, so there are no seed groups
        #expect(findings.seedGroups.isEmpty)
    }

    func measured(_ rows: [(lr: Double, seed: UInt64, loss: Double)])
        -> [(runID: Int64, settings: TrialSettings, loss: Double)]
    {
        rows.enumerated().map { k, row in
            (
                Int64(k + 1),
                TrialSettings(
                    name: "sweep-1/x", hyperparameters: hyperparameters(lr: row.lr, seed: row.seed),
                    data: DataSource(directory: "/d", validationSize: 10, trainLimit: nil)),
                row.loss
            )
        }
    }

    @Test func seedsGroupIntoConfigurationsWithExactMeanAndDeviation() {
        // Given three configurations: two over three seeds, one over a single seed
        let findings = SweepFindings(
            measured: measured([
                (1, 1, 1.0), (1, 2, 1.5), (1, 3, 2.0),
                (0.1, 1, 0.25), (0.1, 2, 0.5), (0.1, 3, 0.75),
                (0.5, 1, 0.125),
            ]), ranges: [:])

        // Then each configuration has its seeds' mean and sample deviation, ranked by mean
        #expect(
            findings.seedGroups == [
                .init(configuration: "lr=0.5", seeds: [1], mean: 0.125, standardDeviation: nil),
                .init(configuration: "lr=0.1", seeds: [1, 2, 3], mean: 0.5, standardDeviation: 0.25),
                .init(configuration: "lr=1.0", seeds: [1, 2, 3], mean: 1.5, standardDeviation: 0.5),
            ])
        // And the best settings are the best trial's
        #expect(findings.bestRunID == 7)
        #expect(findings.bestSettings.map(\.value) == ["0.5", "1"])
    }

    @Test func seedsThatRepeatNoConfigurationMakeNoGroups() {
        let drawn = SweepFindings(measured: measured([(0.1, 1, 0.3), (0.2, 2, 0.4)]), ranges: [:])
        #expect(drawn.varying == [.learningRate, .seed] && drawn.seedGroups.isEmpty)
    }

    @Test func fewerThanTwoFinishedTrialsRankNothing() {
        let one = SweepFindings(measured: measured([(0.1, 1, 0.3)]), ranges: [:])
        #expect(one.finished == 1 && one.importance == nil && one.varying.isEmpty)
        let none = SweepFindings(grid: "{}", trials: [], summaries: [])
        #expect(none.finished == 0 && none.importance == nil && none.constant.isEmpty)
        #expect(none.bestRunID == nil && none.seedGroups.isEmpty)
    }
}
