/// The Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011) as Optuna's
/// TPESampler runs it by default for one objective (5.x: multivariate, 24 candidates, γ(n) =
/// min(⌈n / 10⌉, 25), prior weight 1, magic clip, endpoints not considered, constant liar),
/// with our own random stream.
///
/// The finished trials are ranked by loss; the best γ(n) form the "below" set and the rest,
/// with every trial still running (the "constant liar": they count as bad, so parallel workers
/// spread out), the "above" set. A Parzen estimator l is fitted to below and g to above, each
/// a mixture whose kernel k is trial k's point in every setting at once (multivariate TPE, as
/// in BOHB, Falkner et al., ICML 2018, and Optuna 5's default for one objective: one kernel
/// per trial, the product of its settings' kernels, plus the prior). 24 candidates are drawn from l, each a
/// kernel by weight and then every setting from that kernel, and the one with the largest
/// log l(x) − log g(x) is proposed (the first, on a tie). Independent TPE, which scores each
/// setting alone, cannot see that a learning rate is good only with a small momentum.
import Foundation
import Numerics

public struct TreeParzenEstimator: Sendable {
    public var space: [SearchDimension]
    /// Candidates drawn from l (Optuna's `n_ei_candidates`).
    public var candidates = 24

    public static let defaultStartup = 10

    public init(space: [SearchDimension]) {
        self.space = space
    }

    /// A trial TPE learns from: its settings (values, or list indices) and its loss, nil
    /// while it runs.
    public struct Observation: Equatable, Sendable {
        public var number: Int
        public var values: [Double]
        public var loss: Double?

        public init(number: Int, values: [Double], loss: Double?) {
            self.number = number
            self.values = values
            self.loss = loss
        }
    }

    /// Optuna's `default_gamma`: how many of n finished trials count as good.
    public static func gamma(_ n: Int) -> Int { min((n + 9) / 10, 25) }

    /// The good and the bad trials, each in trial-number order: the γ(n) lowest losses (ties:
    /// the lower number) among the n finished, and the rest with the running ones.
    public static func split(_ observations: [Observation]) -> (
        below: [Observation], above: [Observation]
    ) {
        let finished = observations.filter { $0.loss != nil }.sorted {
            ($0.loss!, $0.number) < ($1.loss!, $1.number)
        }
        let count = min(gamma(finished.count), finished.count)
        let below = Array(finished.prefix(count))
        let above = Array(finished.dropFirst(count)) + observations.filter { $0.loss == nil }
        return (below.sorted { $0.number < $1.number }, above.sorted { $0.number < $1.number })
    }

    /// The proposals for the next trial, best first: the 24 candidates by their acquisition
    /// log l(x) − log g(x), each once, so that a caller whose first choice is already a trial
    /// can take the next.
    public func proposals(_ observations: [Observation], random: inout SplitMix64) -> [[Double]] {
        let (below, above) = Self.split(observations)
        let l = estimators(below), g = estimators(above)
        guard let weights = l.first?.weights else { return [] }
        let drawn = (0..<candidates).map { _ in
            let kernel = ParzenEstimator.pick(weights, ParzenEstimator.uniform(&random))
            return l.map { $0.sample(kernel: kernel, &random) }
        }
        let score = drawn.map { Self.logPDF(l, $0) - Self.logPDF(g, $0) }
        let first = Self.firstMaximum(score)
        let rest = drawn.indices.filter { $0 != first }.sorted { (-score[$0], $0) < (-score[$1], $1) }
        var seen: Set<[Double]> = []
        return ([first] + rest).map { drawn[$0] }.filter { seen.insert($0).inserted }
    }

    /// One Parzen estimator per setting, fitted to `observations` (their kernels line up:
    /// kernel k of each is observation k, the prior last).
    func estimators(_ observations: [Observation]) -> [ParzenEstimator] {
        space.enumerated().map { d, dimension in
            ParzenEstimator(observations: observations.map { $0.values[d] }, dimension: dimension)
        }
    }

    /// log of the joint (multivariate) mixture's density at `x`: log Σ_k w_k Π_d p_kd(x_d).
    static func logPDF(_ estimators: [ParzenEstimator], _ x: [Double]) -> Double {
        guard let weights = estimators.first?.weights else { return 0 }
        var terms = weights.map { Foundation.log($0) }
        for (estimator, value) in zip(estimators, x) {
            for (k, term) in estimator.logKernels(value).enumerated() { terms[k] += term }
        }
        return ParzenEstimator.logSumExp(terms)
    }

    /// numpy's argmax: the first index of the largest value (NaN counts as largest).
    static func firstMaximum(_ values: [Double]) -> Int {
        if let nan = values.firstIndex(where: \.isNaN) { return nan }
        var best = 0
        for k in values.indices where values[k] > values[best] { best = k }
        return best
    }

    /// The rung whose results TPE models in an ASHA sweep, as BOHB does: the highest with at
    /// least `needed` results (BOHB's default: one more than the settings searched), else
    /// rung 0.
    public static func modelRung(_ results: [RungResult], needed: Int) -> Int {
        var counts = [Int: Int]()
        for result in results { counts[result.rung, default: 0] += 1 }
        return counts.filter { $0.value >= needed }.keys.max() ?? 0
    }
}
