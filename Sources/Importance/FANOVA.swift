/// Which settings mattered: functional ANOVA over a random forest (Hutter, Hoos and
/// Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter Importance", ICML 2014),
/// the method behind Optuna's default `get_param_importances`.
///
/// A forest is fitted to (settings → metric). Each tree cuts the search space into boxes, one
/// per leaf, with a constant prediction; under a uniform measure over the space its prediction
/// has a variance, and the part of it explained by one setting alone is the variance of the
/// tree's prediction averaged over every other setting. A setting's importance is that share,
/// averaged over the trees, and normalised so that the settings' shares sum to 1.
import Foundation

/// A setting's axis in the search space, as fANOVA measures it.
public struct SearchAxis: Sendable, Equatable {
    public enum Scale: Sendable, Equatable {
        /// Measured on its own values.
        case linear
        /// Measured on the logarithm of its values: a log-range setting's decades weigh alike.
        case log
        /// Values are choice indices 0..<count, each choice an equal slice of the axis.
        case categorical(count: Int)
    }

    public let name: String
    public let scale: Scale
    /// The axis's ends, measured on the scale.
    let lower: Double
    let upper: Double

    /// A numeric setting drawn or listed between `lower` and `upper`.
    public static func numeric(_ name: String, lower: Double, upper: Double, log: Bool) -> SearchAxis {
        log ? SearchAxis(name: name, scale: .log, lower: Foundation.log(lower), upper: Foundation.log(upper))
            : SearchAxis(name: name, scale: .linear, lower: lower, upper: upper)
    }

    /// A setting with `count` unordered choices, given as their indices.
    public static func categorical(_ name: String, count: Int) -> SearchAxis {
        SearchAxis(name: name, scale: .categorical(count: count), lower: -0.5, upper: Double(count) - 0.5)
    }

    /// `value` (a choice's index for a categorical setting) on the axis's scale.
    func measure(_ value: Double) -> Double {
        scale == .log ? Foundation.log(value) : value
    }
}

public enum Importance {
    /// The forest Optuna's FanovaImportanceEvaluator fits by default: 64 trees, depth 64.
    public static let defaultTrees = 64

    /// Each dimension's share of the metric's variance explained by it alone, summing to 1, in
    /// the order of `dimensions`; nil where there is nothing to explain (fewer than two points,
    /// no dimension, or a metric that never varies).
    ///
    /// `points[i][d]` is trial i's value of dimension d (a choice's index for a categorical
    /// one); `metric[i]` its result. Deterministic for a given `seed`.
    public static func fanova(
        dimensions: [SearchAxis], points: [[Double]], metric: [Double],
        trees: Int = defaultTrees, maxDepth: Int = 64, seed: UInt64 = 0
    ) -> [Double]? {
        precondition(points.count == metric.count && points.allSatisfy { $0.count == dimensions.count })
        guard points.count >= 2, !dimensions.isEmpty else { return nil }
        let measured = points.map { point in zip(dimensions, point).map { $0.measure($1) } }
        let forest = RegressionForest(x: measured, y: metric, trees: trees, maxDepth: maxDepth, seed: seed)
        var shares = [Double](repeating: 0, count: dimensions.count)
        var counted = 0
        for tree in forest.trees {
            let partition = Partition(tree: tree, dimensions: dimensions)
            guard partition.variance > 0 else { continue }
            counted += 1
            for d in dimensions.indices {
                shares[d] += min(max(partition.marginalVariance(d) / partition.variance, 0), 1)
            }
        }
        let total = shares.reduce(0, +)
        guard counted > 0, total > 0 else { return nil }
        return shares.map { $0 / total }
    }
}

/// A tree's leaves as boxes of the search space, each with its share of the space's volume.
struct Partition {
    struct Box {
        var lower: [Double]
        var upper: [Double]
        var value: Double
    }

    let dimensions: [SearchAxis]
    private(set) var boxes: [Box] = []
    /// Per dimension, the thresholds the tree splits it at, sorted, with the axis's ends.
    private(set) var cuts: [[Double]]
    /// The tree's prediction's mean and variance over the whole space.
    private(set) var mean = 0.0
    private(set) var variance = 0.0

    init(tree: RegressionTree, dimensions: [SearchAxis]) {
        self.dimensions = dimensions
        cuts = dimensions.map { [$0.lower, $0.upper] }
        collect(tree, node: 0, Box(lower: dimensions.map(\.lower), upper: dimensions.map(\.upper), value: 0))
        cuts = cuts.map { Array(Set($0)).sorted() }
        mean = boxes.reduce(0) { $0 + fraction($1) * $1.value }
        variance = boxes.reduce(0) { $0 + fraction($1) * ($1.value - mean) * ($1.value - mean) }
    }

    private mutating func collect(_ tree: RegressionTree, node index: Int, _ box: Box) {
        let node = tree.nodes[index]
        guard node.feature >= 0 else {
            boxes.append(Box(lower: box.lower, upper: box.upper, value: node.value))
            return
        }
        // A threshold outside the box (the space's own ends) leaves one side empty.
        let threshold = min(max(node.threshold, box.lower[node.feature]), box.upper[node.feature])
        cuts[node.feature].append(threshold)
        var left = box
        left.upper[node.feature] = threshold
        var right = box
        right.lower[node.feature] = threshold
        collect(tree, node: node.left, left)
        collect(tree, node: node.right, right)
    }

    /// The box's share of the space along `dimensions` other than `excluded`.
    private func fraction(_ box: Box, excluding excluded: Int = -1) -> Double {
        var share = 1.0
        for d in dimensions.indices where d != excluded {
            share *= (box.upper[d] - box.lower[d]) / (dimensions[d].upper - dimensions[d].lower)
        }
        return share
    }

    /// The variance, over dimension `d`'s axis, of the prediction averaged over every other
    /// dimension. Between two of the tree's cuts on `d` that average is constant; each box adds
    /// its value times its share of the other dimensions to the slices its range covers.
    func marginalVariance(_ d: Int) -> Double {
        let edges = cuts[d]
        guard edges.count >= 2 else { return 0 }
        var slices = [Double](repeating: 0, count: edges.count)  // difference array
        for box in boxes where box.upper[d] > box.lower[d] {
            let contribution = box.value * fraction(box, excluding: d)
            slices[firstIndex(of: box.lower[d], in: edges)] += contribution
            slices[firstIndex(of: box.upper[d], in: edges)] -= contribution
        }
        let width = dimensions[d].upper - dimensions[d].lower
        var running = 0.0
        var result = 0.0
        for k in 0..<(edges.count - 1) {
            running += slices[k]
            let weight = (edges[k + 1] - edges[k]) / width
            result += weight * (running - mean) * (running - mean)
        }
        return result
    }

    /// Where `value`, one of the cuts, stands among `edges`.
    private func firstIndex(of value: Double, in edges: [Double]) -> Int {
        var low = 0
        var high = edges.count - 1
        while low < high {
            let middle = (low + high) / 2
            if edges[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
