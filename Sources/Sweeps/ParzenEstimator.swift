/// One setting's Parzen estimator, as Optuna's TPESampler builds it (optuna/samplers/_tpe/
/// parzen_estimator.py, 5.x, univariate, default parameters): a mixture with one kernel per
/// observed trial plus a prior kernel, weighted by `ParzenEstimator.weights`.
///
/// - A real or integer setting gets truncated normal kernels on its range, in log space for a
///   log range. Each kernel is centred on an observation; its width is the larger of the gaps
///   to its neighbours among the sorted observations and the range's ends (the outermost two
///   take their inner gap), clipped to [(high − low) / min(100, n + 2), high − low] ("magic
///   clip"). The prior kernel sits mid-range with width high − low. An integer is the mass of
///   [x − ½, x + ½], and its range is widened by ½ at each end.
/// - A list is categorical: kernel k puts 1 + prior/(n + 1) on the value observed, prior/(n + 1)
///   on every value, normalised; the prior kernel is uniform.
import Foundation
import Numerics

/// A setting TPE proposes values for.
public enum SearchDimension: Equatable, Sendable {
    /// A real range, uniform or log-uniform a priori.
    case real(low: Double, high: Double, log: Bool)
    /// A range of whole numbers, step 1.
    case integer(low: Int, high: Int, log: Bool)
    /// A list of `count` values, given as an index 0..<count.
    case categorical(count: Int)
}

public struct ParzenEstimator: Sendable {
    public let dimension: SearchDimension
    /// The kernels' weights, summing to 1; the prior's last.
    public let weights: [Double]
    /// Numerical kernels: centres and widths in the setting's (log) space; the prior's last.
    public let mus: [Double]
    public let sigmas: [Double]
    /// Categorical kernels: each a distribution over the values; the prior's last.
    public let categories: [[Double]]

    /// The mixture for `observations` (values, or indices for a list) in trial-number order.
    public init(observations: [Double], dimension: SearchDimension, priorWeight: Double = 1) {
        self.dimension = dimension
        let n = observations.count
        var weights = Self.observationWeights(n) + [n == 0 ? 1 : priorWeight]
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        self.weights = weights
        switch dimension {
        case .categorical(let count):
            let kernels = n + 1
            let prior = priorWeight / Double(kernels)
            var rows = observations.map { observed -> [Double] in
                var row = [Double](repeating: prior, count: count)
                row[Int(observed)] += 1
                let sum = row.reduce(0, +)
                return row.map { $0 / sum }
            }
            rows.append([Double](repeating: 1 / Double(count), count: count))
            (mus, sigmas, categories) = ([], [], rows)
        case .real, .integer:
            let (low, high) = Self.bounds(dimension)
            let centres = observations.map { Self.transform($0, dimension) }
            (mus, sigmas, categories) = (
                centres + [(low + high) / 2],
                Self.widths(centres, low: low, high: high) + [high - low], []
            )
        }
    }

    /// Optuna's `default_weights`: equal for fewer than 25 observations, else the oldest n − 25
    /// ramp up linearly from 1/n and the newest 25 weigh 1.
    static func observationWeights(_ n: Int) -> [Double] {
        guard n >= 25 else { return [Double](repeating: 1, count: n) }
        let ramp = n - 25
        // numpy.linspace(1/n, 1, ramp): start + i·step, the last exactly 1.
        let start = 1 / Double(n)
        let step = ramp > 1 ? (1 - start) / Double(ramp - 1) : 0
        let rising = (0..<ramp).map { (i: Int) -> Double in
            i == ramp - 1 && ramp > 1 ? 1 : start + Double(i) * step
        }
        return rising + [Double](repeating: 1, count: 25)
    }

    /// The kernels' widths for centres `mus` on [low, high] (see the type's comment).
    static func widths(_ mus: [Double], low: Double, high: Double) -> [Double] {
        let order = mus.indices.sorted { (mus[$0], $0) < (mus[$1], $1) }
        let line: [Double] = [low] + order.map { mus[$0] } + [high]
        var sorted: [Double] = (1..<(line.count - 1)).map { (i: Int) -> Double in
            let left: Double = line[i] - line[i - 1]
            let right: Double = line[i + 1] - line[i]
            return max(left, right)
        }
        if line.count >= 4 {
            sorted[0] = line[2] - line[1]
            sorted[sorted.count - 1] = line[line.count - 2] - line[line.count - 3]
        }
        let maxSigma = high - low
        let minSigma = (high - low) / min(100, Double(mus.count + 2))
        var widths = [Double](repeating: 0, count: mus.count)
        for (rank, index) in order.enumerated() {
            widths[index] = min(max(sorted[rank], minSigma), maxSigma)
        }
        return widths
    }

    /// The range in the space the kernels live in: an integer's widened by ½ each side, then
    /// the log taken for a log range.
    static func bounds(_ dimension: SearchDimension) -> (low: Double, high: Double) {
        switch dimension {
        case .real(let low, let high, let log):
            log ? (Foundation.log(low), Foundation.log(high)) : (low, high)
        case .integer(let low, let high, let log):
            log
                ? (Foundation.log(Double(low) - 0.5), Foundation.log(Double(high) + 0.5))
                : (Double(low) - 0.5, Double(high) + 0.5)
        case .categorical(let count): (0, Double(count))
        }
    }

    static func transform(_ x: Double, _ dimension: SearchDimension) -> Double {
        switch dimension {
        case .real(_, _, true), .integer(_, _, true): Foundation.log(x)
        default: x
        }
    }

    // MARK: - Density

    /// log of the mixture's density (mass, for an integer or a list) at `x`.
    public func logPDF(_ x: Double) -> Double {
        Self.logSumExp(zip(logKernels(x), weights).map { $0 + Foundation.log($1) })
    }

    /// log of each kernel's density (mass, for an integer or a list) at `x`, unweighted, in
    /// kernel order (the prior's last): what a joint (multivariate) estimator adds up across
    /// settings before it mixes the kernels.
    public func logKernels(_ x: Double) -> [Double] {
        switch dimension {
        case .categorical:
            return categories.map { Foundation.log($0[Int(x)]) }
        case .real:
            let (low, high) = Self.bounds(dimension)
            let t = Self.transform(x, dimension)
            return zip(mus, sigmas).map { mu, sigma in
                let z = (t - mu) / sigma
                return -z * z / 2 - Normal.logSqrt2Pi - Foundation.log(sigma)
                    - Normal.logMass((low - mu) / sigma, (high - mu) / sigma)
            }
        case .integer:
            let (low, high) = Self.bounds(dimension)
            let left = Self.transform(x - 0.5, dimension), right = Self.transform(x + 0.5, dimension)
            return zip(mus, sigmas).map { mu, sigma in
                Normal.logMass((left - mu) / sigma, (right - mu) / sigma)
                    - Normal.logMass((low - mu) / sigma, (high - mu) / sigma)
            }
        }
    }

    /// log Σ exp(terms), computed from the largest term; −∞ for no terms.
    static func logSumExp(_ terms: [Double]) -> Double {
        let top = terms.max() ?? -.infinity
        guard top.isFinite else { return top }
        return Foundation.log(terms.reduce(0) { $0 + Foundation.exp($1 - top) }) + top
    }

    // MARK: - Sampling

    /// A value drawn from the mixture: a kernel by weight, then a value from that kernel.
    public func sample(_ random: inout SplitMix64) -> Double {
        sample(kernel: Self.pick(weights, Self.uniform(&random)), &random)
    }

    /// A value drawn from kernel `kernel` (an index for a list; an integer rounded half to
    /// even, as numpy rounds).
    public func sample(kernel: Int, _ random: inout SplitMix64) -> Double {
        switch dimension {
        case .categorical:
            return Double(Self.pick(categories[kernel], Self.uniform(&random)))
        case .real(let low, let high, let log):
            let (a, b) = Self.bounds(dimension)
            let t = Normal.truncatedSample(
                mu: mus[kernel], sigma: sigmas[kernel], low: a, high: b, u: Self.uniform(&random))
            return min(max(log ? Foundation.exp(t) : t, low), high)
        case .integer(let low, let high, let log):
            let (a, b) = Self.bounds(dimension)
            let t = Normal.truncatedSample(
                mu: mus[kernel], sigma: sigmas[kernel], low: a, high: b, u: Self.uniform(&random))
            let x = (log ? Foundation.exp(t) : t).rounded(.toNearestOrEven)
            return min(max(x, Double(low)), Double(high))
        }
    }

    /// Uniform in [0, 1) with 53 random bits.
    static func uniform(_ random: inout SplitMix64) -> Double {
        Double(random.next() >> 11) * 0x1p-53
    }

    /// The index whose cumulative probability first exceeds `u` (the last if rounding leaves
    /// the sum short of 1).
    static func pick(_ probabilities: [Double], _ u: Double) -> Int {
        var cumulative = 0.0
        for (k, p) in probabilities.enumerated() {
            cumulative += p
            if u < cumulative { return k }
        }
        return probabilities.count - 1
    }
}

/// The standard normal distribution's tails, as Optuna's `_truncnorm` computes them.
enum Normal {
    static let logSqrt2Pi = 0.5 * Foundation.log(2 * Double.pi)

    /// Φ(a), accurate in both tails.
    static func cdf(_ a: Double) -> Double {
        let x = a / 2.0.squareRoot()
        if x < -1 / 2.0.squareRoot() { return 0.5 * erfc(-x) }
        if x < 1 / 2.0.squareRoot() { return 0.5 + 0.5 * erf(x) }
        return 1 - 0.5 * erfc(x)
    }

    /// log Φ(a), with the asymptotic series below −20 where Φ underflows.
    static func logCDF(_ a: Double) -> Double {
        if a > 6 { return -cdf(-a) }
        if a > -20 { return Foundation.log(cdf(a)) }
        let lhs = -0.5 * a * a - Foundation.log(-a) - logSqrt2Pi
        var (last, sum, numerator, factor, sign, i) = (0.0, 1.0, 1.0, 1.0, 1.0, 0.0)
        while abs(last - sum) > Double.ulpOfOne {
            i += 1
            last = sum
            sign = -sign
            factor /= a * a
            numerator *= 2 * i - 1
            sum += sign * numerator * factor
        }
        return lhs + Foundation.log(sum)
    }

    /// log(Φ(b) − Φ(a)) for a ≤ b, computed in the left tail (mirrored for a > 0).
    static func logMass(_ a: Double, _ b: Double) -> Double {
        func left(_ a: Double, _ b: Double) -> Double {
            let (p, q) = (logCDF(b), logCDF(a))
            return p + Foundation.log1p(-Foundation.exp(q - p))
        }
        if b <= 0 { return left(a, b) }
        if a > 0 { return left(-b, -a) }
        return Foundation.log1p(-(0.5 + 0.5 * erf(a / 2.0.squareRoot())) - (0.5 + 0.5 * erf(-b / 2.0.squareRoot())))
    }

    /// The `u`-quantile (u in [0, 1)) of N(mu, sigma²) truncated to [low, high], by bisection
    /// on the truncated CDF: exact to the last bits, and the same on every machine.
    static func truncatedSample(mu: Double, sigma: Double, low: Double, high: Double, u: Double)
        -> Double
    {
        let a = (low - mu) / sigma, b = (high - mu) / sigma
        let (pa, pb) = (cdf(a), cdf(b))
        let target = pa + u * (pb - pa)
        var (lo, hi) = (a, b)
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if mid <= lo || mid >= hi { break }
            if cdf(mid) < target { lo = mid } else { hi = mid }
        }
        return min(max(mu + sigma * (lo + hi) / 2, low), high)
    }
}
