import Foundation
import Numerics
import TestSupport
import Testing

@testable import Sweeps

/// Each estimator against Optuna 5.1's own `_ParzenEstimator` with TPESampler's defaults, on
/// fixed observations. The reference numbers come from this script, run once in a throwaway
/// virtual environment (`pip install optuna`); the test itself needs no Python:
///
///     from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
///     from optuna.samplers._tpe.sampler import default_weights
///     P = _ParzenEstimatorParameters(prior_weight=1.0, consider_magic_clip=True,
///         consider_endpoints=False, weights=default_weights, multivariate=False)
///     pe = _ParzenEstimator({"p": np.asarray(obs, dtype=float)}, {"p": dist}, P)
///     d = pe._mixture_distribution.distributions[0]
///     print(pe._mixture_distribution.weights, d.mu, d.sigma)   # d.weights for a list
///     print(pe.log_pdf({"p": np.asarray(xs, dtype=float)}))
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ParzenEstimatorTests {
    struct Reference: Sendable, CustomTestStringConvertible {
        var name: String
        var dimension: SearchDimension
        var observations: [Double]
        var weights: [Double]
        var mus: [Double] = []
        var sigmas: [Double] = []
        var categories: [[Double]] = []
        var points: [Double]
        var logPDF: [Double]
        var testDescription: String { name }
    }

    /// The 30 observations of the reference that has them, in the order Optuna was given them.
    /// (This and the weights are typed values of their own: as expressions inside
    /// `references` they made it take seconds to type-check.)
    static let thirty: [Double] = (0..<30).map { Double(($0 * 37) % 30) / 29 }
    static let thirtyWeights: [Double] =
        [0.0011661807580174927, 0.009620991253644314, 0.018075801749271137, 0.026530612244897955]
        + [Double](repeating: 0.034985422740524776, count: 27)

    static let references: [Reference] = [
        Reference(
            name: "real 0:0.99", dimension: .real(low: 0, high: 0.99, log: false),
            observations: [0.9, 0.1, 0.5, 0.55, 0.98],
            weights: [Double](repeating: 1.0 / 6, count: 6),
            mus: [0.9, 0.1, 0.5, 0.55, 0.98, 0.495],
            sigmas: [0.35, 0.4, 0.4, 0.35, 0.14142857142857143, 0.99],
            points: [0.0, 0.3, 0.555, 0.95, 0.99],
            logPDF: [
                -0.5031926488008505, -0.15243035879253508, -0.034403773486373135,
                0.47232619379430874, 0.45598908959368656,
            ]),
        Reference(
            name: "real 0.001:1:log", dimension: .real(low: 0.001, high: 1, log: true),
            observations: [0.05, 0.08, 0.012], weights: [0.25, 0.25, 0.25, 0.25],
            mus: [-2.995732273553991, -2.5257286443082556, -4.422848629194137, -3.4538776394910684],
            sigmas: [1.427116355640146, 1.3815510557964275, 1.427116355640146, 6.907755278982137],
            points: [0.001, 0.01, 0.0523, 0.3, 1.0],
            logPDF: [
                -2.9671963371797094, -1.7637099745418043, -1.5000839004659472,
                -2.1098363192609746, -2.8856740243845316,
            ]),
        Reference(
            name: "integer 32:512", dimension: .integer(low: 32, high: 512, log: false),
            observations: [100, 300, 64, 500], weights: [0.2, 0.2, 0.2, 0.2, 0.2],
            mus: [100, 300, 64, 500, 272], sigmas: [200, 200, 80.16666666666667, 200, 481],
            points: [32, 33, 200, 301, 512],
            logPDF: [
                -5.931105076206065, -5.927229233906475, -6.179631551311486, -6.3002187775350125,
                -6.482568738617497,
            ]),
        Reference(
            name: "integer 32:256:log", dimension: .integer(low: 32, high: 256, log: true),
            observations: [32, 50, 200], weights: [0.25, 0.25, 0.25, 0.25],
            mus: [3.4657359027997265, 3.912023005428146, 5.298317366548036, 4.498558105221205],
            sigmas: [0.4462871026284194, 1.3862943611198904, 1.3862943611198904, 2.097141118779237],
            points: [32, 45, 128, 255, 256],
            logPDF: [
                -3.7657423775232637, -4.212166553560922, -5.819531130920534, -6.65637627767482,
                -6.6615408251697525,
            ]),
        Reference(
            name: "list of 3", dimension: .categorical(count: 3), observations: [0, 2, 2],
            weights: [0.25, 0.25, 0.25, 0.25],
            categories: [
                [0.7142857142857143, 0.14285714285714285, 0.14285714285714285],
                [0.14285714285714285, 0.14285714285714285, 0.7142857142857143],
                [0.14285714285714285, 0.14285714285714285, 0.7142857142857143],
                [0.3333333333333333, 0.3333333333333333, 0.3333333333333333],
            ],
            points: [0, 1, 2],
            logPDF: [-1.0986122886681098, -1.6582280766035324, -0.7419373447293772]),
        Reference(
            name: "30 observations: the oldest 5 weigh less",
            dimension: .real(low: 0, high: 1, log: false),
            observations: thirty, weights: thirtyWeights, mus: thirty + [0.5],
            sigmas: [Double](repeating: 1.0 / 29, count: 30) + [1],
            points: [0.0, 0.25, 0.5, 0.77, 1.0],
            logPDF: [
                -0.8876175786929779, -0.26724705374232416, -0.12967525398565838,
                0.009286962876209559, 0.1774488328070961,
            ]),
        Reference(
            name: "no observations: the prior alone", dimension: .real(low: 0, high: 2, log: false),
            observations: [], weights: [1], mus: [1], sigmas: [2], points: [0, 1, 2],
            logPDF: [-0.7771693800689957, -0.6521693800689957, -0.7771693800689957]),
        Reference(
            name: "no observations of a list", dimension: .categorical(count: 2), observations: [],
            weights: [1], categories: [[0.5, 0.5]], points: [0, 1],
            logPDF: [-0.6931471805599453, -0.6931471805599453]),
    ]

    static func close(_ a: [Double], _ b: [Double], within tolerance: Double = 1e-12) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test(arguments: references) func kernelsMatchOptuna(reference r: Reference) {
        // When the estimator is fitted to the reference's observations
        let estimator = ParzenEstimator(observations: r.observations, dimension: r.dimension)

        // Then its kernels are Optuna's
        #expect(Self.close(estimator.weights, r.weights))
        #expect(Self.close(estimator.mus, r.mus))
        #expect(Self.close(estimator.sigmas, r.sigmas))
        #expect(estimator.categories.count == r.categories.count)
        for (row, expected) in zip(estimator.categories, r.categories) {
            #expect(Self.close(row, expected))
        }
    }

    @Test(arguments: references) func densityMatchesOptuna(reference r: Reference) {
        let estimator = ParzenEstimator(observations: r.observations, dimension: r.dimension)

        let logPDF = r.points.map(estimator.logPDF)

        #expect(Self.close(logPDF, r.logPDF, within: 1e-10), "\(logPDF) vs Optuna's \(r.logPDF)")
    }

    @Test(arguments: references) func samplesStayInTheRangeOnItsGrid(reference r: Reference) {
        // Given the estimator and a fixed stream
        let estimator = ParzenEstimator(observations: r.observations, dimension: r.dimension)
        var random = SplitMix64(seed: 7)

        // When it draws many values
        let samples = (0..<2_000).map { _ in estimator.sample(&random) }

        // Then each is a value the setting can take
        for x in samples {
            switch r.dimension {
            case .real(let low, let high, _): #expect((low...high).contains(x))
            case .integer(let low, let high, _):
                #expect((Double(low)...Double(high)).contains(x) && x.rounded() == x)
            case .categorical(let count): #expect((0..<Double(count)).contains(x) && x.rounded() == x)
            }
        }
    }

    @Test func samplesFollowTheMixture() {
        // Given a list whose mixture gives the values 3/7, 1/7 and 3/7 (kernels [5/7, 1/7,
        // 1/7], [1/7, 1/7, 5/7] and the uniform prior, equally weighted: (5+1+7/3)/21 …)
        let estimator = ParzenEstimator(observations: [0, 2], dimension: .categorical(count: 3))
        let expected = (0..<3).map { k in
            zip(estimator.weights, estimator.categories).map { $0 * $1[k] }.reduce(0, +)
        }
        var random = SplitMix64(seed: 11)

        // When it draws 60,000 values
        var counts = [0, 0, 0]
        for _ in 0..<60_000 { counts[Int(estimator.sample(&random))] += 1 }

        // Then each value's share is within 4 standard errors of its probability
        for k in 0..<3 {
            let p = expected[k], share = Double(counts[k]) / 60_000
            #expect(abs(share - p) < 4 * (p * (1 - p) / 60_000).squareRoot(), "value \(k)")
        }
    }

    @Test func truncatedNormalQuantilesInvertTheDistribution() {
        // The median of N(0.2, 0.5²) truncated to [0, 1] has equal mass on both sides
        let x = Normal.truncatedSample(mu: 0.2, sigma: 0.5, low: 0, high: 1, u: 0.5)
        let left = Normal.cdf((x - 0.2) / 0.5) - Normal.cdf(-0.4)
        let right = Normal.cdf(1.6) - Normal.cdf((x - 0.2) / 0.5)

        #expect(abs(left - right) < 1e-14)
        #expect(Normal.truncatedSample(mu: 0.2, sigma: 0.5, low: 0, high: 1, u: 0) == 0)
    }

    @Test func theLeftTailKeepsItsPrecisionWherePhiUnderflows() {
        // log Φ(−40) by its asymptotic series: −z²/2 − log(z√(2π)) − 1/z² + …
        let z = 40.0
        let leading = -z * z / 2 - log(z * (2 * Double.pi).squareRoot())
        #expect(abs(Normal.logCDF(-z) - (leading - 1 / (z * z) + 2.5 / (z * z * z * z))) < 1e-6)
        #expect(Normal.logMass(-41, -40).isFinite)
    }
}
