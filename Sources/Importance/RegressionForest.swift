/// A random forest of regression trees (CART with squared error, bootstrap samples), the model
/// fANOVA decomposes. Plain and deterministic: the same rows, seed and tree count give the same
/// forest on every machine.
import Numerics

/// One regression tree, its nodes in one array: node 0 is the root; a leaf has `feature < 0`.
struct RegressionTree: Sendable {
    struct Node: Sendable {
        var feature: Int  // the split's column; -1 on a leaf
        var threshold: Double  // rows with x[feature] <= threshold go left
        var left: Int
        var right: Int
        var value: Double  // the mean target of the rows that reached the node
    }

    private(set) var nodes: [Node] = []

    /// Grows a tree on `rows` (indices into `x` and `y`, repeats allowed, as a bootstrap
    /// sample has them), splitting while a split lowers the squared error and `maxDepth` allows.
    init(x: [[Double]], y: [Double], rows: [Int], maxDepth: Int) {
        grow(x: x, y: y, rows: rows, depth: 0, maxDepth: maxDepth)
    }

    @discardableResult
    private mutating func grow(x: [[Double]], y: [Double], rows: [Int], depth: Int, maxDepth: Int) -> Int {
        let index = nodes.count
        let mean = rows.reduce(0.0) { $0 + y[$1] } / Double(rows.count)
        nodes.append(Node(feature: -1, threshold: 0, left: -1, right: -1, value: mean))
        guard depth < maxDepth, rows.count >= 2, let split = bestSplit(x: x, y: y, rows: rows) else {
            return index
        }
        let left = rows.filter { x[$0][split.feature] <= split.threshold }
        let right = rows.filter { x[$0][split.feature] > split.threshold }
        nodes[index].feature = split.feature
        nodes[index].threshold = split.threshold
        nodes[index].left = grow(x: x, y: y, rows: left, depth: depth + 1, maxDepth: maxDepth)
        nodes[index].right = grow(x: x, y: y, rows: right, depth: depth + 1, maxDepth: maxDepth)
        return index
    }

    /// The split with the lowest summed squared error of its two sides, between two distinct
    /// values of one column (at their midpoint); nil where none lowers the node's own error.
    private func bestSplit(x: [[Double]], y: [Double], rows: [Int]) -> (feature: Int, threshold: Double)? {
        let n = Double(rows.count)
        let total = rows.reduce(0.0) { $0 + y[$1] }
        let totalSquares = rows.reduce(0.0) { $0 + y[$1] * y[$1] }
        let ownError = totalSquares - total * total / n
        guard ownError > 1e-12 * max(1, totalSquares) else { return nil }
        var best: (feature: Int, threshold: Double, error: Double)?
        for feature in x[rows[0]].indices {
            // The rows with their values, sorted by value: the same comparisons, so the same
            // order, as sorting the rows by x[row][feature], without reaching into x's inner
            // arrays at each (at 1,000 trials that was most of a sweep page's time).
            let sorted = rows.map { (value: x[$0][feature], target: y[$0]) }.sorted { $0.value < $1.value }
            var leftSum = 0.0
            var leftSquares = 0.0
            for k in 0..<(sorted.count - 1) {
                let target = sorted[k].target
                leftSum += target
                leftSquares += target * target
                let here = sorted[k].value
                let next = sorted[k + 1].value
                guard here < next else { continue }
                let leftCount = Double(k + 1)
                let rightCount = n - leftCount
                let rightSum = total - leftSum
                let error = (leftSquares - leftSum * leftSum / leftCount)
                    + (totalSquares - leftSquares - rightSum * rightSum / rightCount)
                if error < (best?.error ?? ownError) {
                    best = (feature, here + (next - here) / 2, error)
                }
            }
        }
        return best.map { ($0.feature, $0.threshold) }
    }
}

/// `trees` regression trees, each grown on a bootstrap sample of the rows.
struct RegressionForest: Sendable {
    let trees: [RegressionTree]

    init(x: [[Double]], y: [Double], trees: Int, maxDepth: Int, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        self.trees = (0..<trees).map { _ in
            let rows = x.indices.map { _ in Int(random.next(below: UInt64(x.count))) }
            return RegressionTree(x: x, y: y, rows: rows, maxDepth: maxDepth)
        }
    }
}
