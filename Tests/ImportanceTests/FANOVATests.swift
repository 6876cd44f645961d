import Foundation
import Numerics
import Testing

@testable import Importance

/// fANOVA's shares on sweeps whose answer is known: a metric that depends on one setting only,
/// an additive one with known variance shares, a categorical one, and a tree decomposed exactly.
@Suite(.timeLimit(.minutes(10)))
struct FANOVATests {
    /// Uniform draws in [0, 1) from a fixed seed.
    func draws(_ count: Int, _ columns: Int, seed: UInt64) -> [[Double]] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<columns).map { _ in Double(random.next() >> 11) * 0x1p-53 } }
    }

    @Test func aMetricOfTheLearningRateAlonePutsItFirstByAWideMargin() throws {
        // Given 60 trials over a log-range learning rate, a hidden width from a list, momentum
        // and batch size, whose validation loss depends on the learning rate only
        let unit = draws(60, 4, seed: 7)
        let points: [[Double]] = unit.map { u in
            let learningRate: Double = 1e-3 * pow(1e3, u[0])
            return [learningRate, Double(Int(u[1] * 3)), 0.9 * u[2], 16 + 240 * u[3]]
        }
        let metric: [Double] = points.map { p in
            let decade: Double = log10(p[0]) + 1.5
            return decade * decade + 0.1
        }
        let dimensions: [SearchAxis] = [
            .numeric("learning_rate", lower: 1e-3, upper: 1, log: true),
            .categorical("hidden", count: 3),
            .numeric("momentum", lower: 0, upper: 0.9, log: false),
            .numeric("batch_size", lower: 16, upper: 256, log: false),
        ]

        // When importance is computed
        let shares = try #require(Importance.fanova(dimensions: dimensions, points: points, metric: metric))

        // Then the learning rate explains nearly everything, the others almost nothing
        let total: Double = shares.reduce(0, +)
        #expect(abs(total - 1) < 1e-9)
        #expect(shares[0] > 0.9, "\(shares)")
        #expect(shares.dropFirst().allSatisfy { $0 < 0.05 }, "\(shares)")
    }

    @Test func anAdditiveMetricIsSplitByItsTermsVariances() throws {
        // Given y = 3·a + b over the unit square: a's term has 9 times b's variance
        let points = draws(300, 2, seed: 11)
        let metric = points.map { 3 * $0[0] + $0[1] }
        let dimensions: [SearchAxis] = [
            .numeric("a", lower: 0, upper: 1, log: false), .numeric("b", lower: 0, upper: 1, log: false),
        ]

        // When importance is computed
        let shares = try #require(Importance.fanova(dimensions: dimensions, points: points, metric: metric))

        // Then the shares are about 0.9 and 0.1
        #expect(abs(shares[0] - 0.9) < 0.05 && abs(shares[1] - 0.1) < 0.05, "\(shares)")
    }

    @Test func aCategoricalSettingThatDecidesTheMetricComesFirst() throws {
        // Given an activation (3 choices) of which one is much worse, and a weak numeric effect
        let unit = draws(90, 2, seed: 3)
        let points = unit.map { [Double(Int($0[0] * 3)), $0[1]] }
        let metric = points.map { ($0[0] == 1 ? 5 : 0) + 0.2 * $0[1] }
        let dimensions: [SearchAxis] = [
            .categorical("activation", count: 3), .numeric("momentum", lower: 0, upper: 1, log: false),
        ]

        let shares = try #require(Importance.fanova(dimensions: dimensions, points: points, metric: metric))

        #expect(shares[0] > 0.95, "\(shares)")
    }

    @Test func oneTreeIsDecomposedExactly() {
        // Given a tree grown on all rows of a step in a at 0.5 (b is noise it never needs)
        let x = [[0.1, 0.7], [0.3, 0.2], [0.45, 0.9], [0.55, 0.1], [0.8, 0.5], [0.9, 0.3]]
        let y = x.map { $0[0] > 0.5 ? 1.0 : 0.0 }
        let tree = RegressionTree(x: x, y: y, rows: Array(x.indices), maxDepth: 64)
        let dimensions: [SearchAxis] = [
            .numeric("a", lower: 0, upper: 1, log: false), .numeric("b", lower: 0, upper: 1, log: false),
        ]

        // When its prediction is decomposed over the unit square
        let partition = Partition(tree: tree, dimensions: dimensions)

        // Then it split a once at 0.5 (between 0.45 and 0.55): half the square predicts 1, so
        // the variance is ¼, all of it a's
        #expect(tree.nodes.count == 3 && tree.nodes[0].feature == 0 && tree.nodes[0].threshold == 0.5)
        #expect(partition.mean == 0.5 && partition.variance == 0.25)
        #expect(partition.marginalVariance(0) == 0.25 && partition.marginalVariance(1) == 0)
    }

    @Test func nothingToExplainIsNil() {
        let dimensions: [SearchAxis] = [.numeric("a", lower: 0, upper: 1, log: false)]
        #expect(Importance.fanova(dimensions: dimensions, points: [[0.2], [0.8]], metric: [1, 1]) == nil)
        #expect(Importance.fanova(dimensions: dimensions, points: [[0.2]], metric: [1]) == nil)
        #expect(Importance.fanova(dimensions: [], points: [[], []], metric: [1, 2]) == nil)
    }

    @Test func theSameSeedGivesTheSameShares() {
        let points = draws(40, 3, seed: 5)
        let metric = points.map { $0[0] * $0[0] + 0.3 * $0[2] }
        let dimensions = ["a", "b", "c"].map { SearchAxis.numeric($0, lower: 0, upper: 1, log: false) }
        let first = Importance.fanova(dimensions: dimensions, points: points, metric: metric, seed: 9)
        #expect(first != nil)
        #expect(first == Importance.fanova(dimensions: dimensions, points: points, metric: metric, seed: 9))
    }
}
