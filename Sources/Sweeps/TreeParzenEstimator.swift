/// The Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011) as Optuna's
/// TPESampler runs it by default (5.x: independent sampling, 24 candidates, γ(n) =
/// min(⌈n / 10⌉, 25), prior weight 1, magic clip, constant liar), with our own random stream.
///
/// For each setting on its own: the finished trials are ranked by loss; the best γ(n) form
/// the "below" set and the rest, with every trial still running (the "constant liar": they
/// count as bad, so parallel workers spread out), the "above" set. A Parzen estimator l is
/// fitted to below and g to above; 24 candidates are drawn from l and the one with the
/// largest log l(x) − log g(x) is proposed (the first, on a tie).
import Numerics

public struct TreeParzenEstimator: Sendable {
    public var space: [SearchDimension]
    /// Candidates drawn from l per setting (Optuna's `n_ei_candidates`).
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

    /// The proposals for the next trial, best first: Optuna's choice (each setting's own best
    /// candidate), then the joint candidates by their summed log l − log g, so that a caller
    /// whose first choice is already a trial can take the next.
    public func proposals(_ observations: [Observation], random: inout SplitMix64) -> [[Double]] {
        let (below, above) = Self.split(observations)
        var drawn = [[Double]](repeating: [], count: candidates)
        var scores = [[Double]](repeating: [], count: candidates)
        var first = [Double]()
        for (d, dimension) in space.enumerated() {
            let l = ParzenEstimator(observations: below.map { $0.values[d] }, dimension: dimension)
            let g = ParzenEstimator(observations: above.map { $0.values[d] }, dimension: dimension)
            let samples = (0..<candidates).map { _ in l.sample(&random) }
            let score = samples.map { l.logPDF($0) - g.logPDF($0) }
            first.append(samples[Self.firstMaximum(score)])
            for j in 0..<candidates {
                drawn[j].append(samples[j])
                scores[j].append(score[j])
            }
        }
        let total = scores.map { $0.reduce(0, +) }
        let ranked = drawn.indices.sorted { (-total[$0], $0) < (-total[$1], $1) }.map { drawn[$0] }
        var seen: Set = [first]
        return [first] + ranked.filter { seen.insert($0).inserted }
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
