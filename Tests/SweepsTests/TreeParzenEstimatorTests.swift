import Foundation
import Numerics
import TestSupport
import Testing

@testable import Sweeps

/// TPE's split and acquisition against Optuna 5.1's TPESampler on a fixed study (each
/// setting's estimator, and the joint acquisition of its default multivariate TPE), and its
/// proposals' behaviour. The reference numbers come from this script (a throwaway virtual
/// environment with `pip install optuna`; the test needs no Python):
///
///     study = optuna.create_study(sampler=optuna.samplers.TPESampler())
///     for l, a, v in rows: study.add_trial(create_trial(params={"lr": l, "act": a},
///         distributions={"lr": FloatDistribution(0.001, 1, log=True),
///                        "act": CategoricalDistribution(["sigmoid", "relu"])}, value=v))
///     … and (0.07, "relu"), (0.1, "relu") added with state=TrialState.RUNNING
///     trials = study.get_trials(states=[COMPLETE, RUNNING])
///     below, above = _split_trials(study, trials, default_gamma(12))
///     l = sampler._build_parzen_estimator(study, {name: dist}, below, True)   # g: above
///     sampler._compute_acquisition_func({name: points}, l, g)
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct TreeParzenEstimatorTests {
    /// The study: (learning rate, activation index: sigmoid 0, relu 1, loss); the last two run.
    static let study: [TreeParzenEstimator.Observation] = [
        (0.003, 0, 0.9), (0.5, 1, 0.4), (0.05, 1, 0.21), (0.2, 0, 0.3), (0.01, 1, 0.5),
        (0.08, 1, 0.2), (0.9, 0, 2.3), (0.03, 0, 0.45), (0.12, 1, 0.2), (0.002, 1, 1.1),
        (0.3, 1, 0.33), (0.06, 0, 0.35), (0.07, 1, nil), (0.1, 1, nil),
    ].enumerated().map { k, row in
        TreeParzenEstimator.Observation(number: k, values: [row.0, row.1], loss: row.2)
    }
    static let space: [SearchDimension] = [
        .real(low: 0.001, high: 1, log: true), .categorical(count: 2),
    ]

    @Test func theBestTenthIsGoodAndRunningTrialsCountAsBad() {
        let (below, above) = TreeParzenEstimator.split(Self.study)

        // γ(12) = 2 of the 12 finished: trials 5 and 8 (loss 0.2, a tie kept in number order)
        #expect(below.map(\.number) == [5, 8])
        #expect(above.map(\.number) == [0, 1, 2, 3, 4, 6, 7, 9, 10, 11, 12, 13])
    }

    @Test func gammaIsATenthRoundedUpAndAtMost25() {
        #expect([0, 1, 10, 11, 100, 250, 251, 1000].map(TreeParzenEstimator.gamma)
            == [0, 1, 1, 2, 10, 25, 25, 25])
    }

    @Test(arguments: [
        (
            0, [0.001, 0.02, 0.07, 0.09, 0.11, 0.5, 1.0],
            [
                -0.19778712928709385, 0.5635019760731681, -0.20346938252208124,
                -0.07446759634473277, 0.0697100646924238, -0.1734260838060735,
                -0.18459715170256685,
            ]
        ),
        (1, [0.0, 1.0], [-0.3677247801253174, 0.21130909366720685]),
    ])
    func acquisitionMatchesOptuna(dimension: Int, points: [Double], optuna: [Double]) {
        // Given l and g fitted to the split study, one setting at a time
        let (below, above) = TreeParzenEstimator.split(Self.study)
        let l = ParzenEstimator(
            observations: below.map { $0.values[dimension] }, dimension: Self.space[dimension])
        let g = ParzenEstimator(
            observations: above.map { $0.values[dimension] }, dimension: Self.space[dimension])

        // When the acquisition log l − log g is evaluated at fixed points
        let acquisition = points.map { l.logPDF($0) - g.logPDF($0) }

        // Then it is Optuna's
        #expect(
            ParzenEstimatorTests.close(acquisition, optuna, within: 1e-10),
            "\(acquisition) vs Optuna's \(optuna)")
    }

    @Test func theSameObservationsAndStreamProposeTheSameTrial() {
        let tpe = TreeParzenEstimator(space: Self.space)
        var a = SplitMix64(seed: 1, stream: 15), b = SplitMix64(seed: 1, stream: 15)
        var c = SplitMix64(seed: 2, stream: 15)

        let first = tpe.proposals(Self.study, random: &a)
        let again = tpe.proposals(Self.study, random: &b)
        let other = tpe.proposals(Self.study, random: &c)

        #expect(first == again)
        #expect(first != other)
    }

    /// Optuna 5.1's default (multivariate) acquisition on the same study, both settings at
    /// once: `l = sampler._build_parzen_estimator(study, {"lr": …, "act": …}, below, True)`,
    /// g likewise from above, then `sampler._compute_acquisition_func` at the points below.
    @Test func jointAcquisitionMatchesOptunasMultivariateDefault() {
        // Given l and g fitted to the split study over both settings
        let tpe = TreeParzenEstimator(space: Self.space)
        let (below, above) = TreeParzenEstimator.split(Self.study)
        let l = tpe.estimators(below), g = tpe.estimators(above)
        let points: [[Double]] = [
            [0.001, 0], [0.02, 1], [0.07, 1], [0.09, 0], [0.11, 1], [0.5, 0], [1.0, 1],
        ]
        let optuna = [
            -0.13001234916948112, 0.9172125296732259, -0.010513927184175653, -0.4757439024207244,
            0.2823662431054961, -0.6006369611577229, 0.6011154794458617,
        ]

        // When the joint acquisition log l − log g is evaluated there
        let acquisition = points.map {
            TreeParzenEstimator.logPDF(l, $0) - TreeParzenEstimator.logPDF(g, $0)
        }

        // Then it is Optuna's, which no sum of the settings' own acquisitions gives
        #expect(
            ParzenEstimatorTests.close(acquisition, optuna, within: 1e-10),
            "\(acquisition) vs Optuna's \(optuna)")
        let independent = points.map { x in
            Self.space.indices.map { d in l[d].logPDF(x[d]) - g[d].logPDF(x[d]) }.reduce(0, +)
        }
        #expect(!ParzenEstimatorTests.close(independent, optuna, within: 1e-3))
    }

    @Test func proposalsAreTheCandidatesByJointScoreEachOnce() {
        // Given the study and a stream
        let tpe = TreeParzenEstimator(space: Self.space)
        let (below, above) = TreeParzenEstimator.split(Self.study)
        let l = tpe.estimators(below), g = tpe.estimators(above)
        var random = SplitMix64(seed: 3)

        // When it proposes
        let proposals = tpe.proposals(Self.study, random: &random)

        // Then they are in order of joint acquisition, each once, every one inside the space
        let scores = proposals.map {
            TreeParzenEstimator.logPDF(l, $0) - TreeParzenEstimator.logPDF(g, $0)
        }
        #expect(scores == scores.sorted(by: >))
        #expect(Set(proposals).count == proposals.count)
        #expect(!proposals.isEmpty && proposals.count <= tpe.candidates)
        #expect(proposals.allSatisfy { (0.001...1).contains($0[0]) && [0, 1].contains($0[1]) })
    }

    @Test func aJointKernelKeepsSettingsThatOnlyWorkTogether() {
        // Given a loss low near (0, 0) and near (1, 1) only, observed on a 4 × 4 grid: each
        // setting alone looks alike at both ends, so only the pair tells good from bad
        let space: [SearchDimension] = [
            .real(low: 0, high: 1, log: false), .real(low: 0, high: 1, log: false),
        ]
        let ticks = [0.05, 0.35, 0.65, 0.95]
        let observations = (0..<16).map { k in
            let x = [ticks[k % 4], ticks[k / 4]]
            return TreeParzenEstimator.Observation(
                number: k, values: x, loss: min(x[0] + x[1], 2 - x[0] - x[1]))
        }
        let tpe = TreeParzenEstimator(space: space)
        let (below, above) = TreeParzenEstimator.split(observations)
        let l = tpe.estimators(below), g = tpe.estimators(above)

        // When it proposes from 40 streams, and from the same streams each setting's own best
        // of 24 draws is taken (independent TPE)
        var joint = 0, independent = 0
        for stream in 1...40 {
            var random = SplitMix64(seed: 9, stream: UInt64(stream))
            let p = tpe.proposals(observations, random: &random)[0]
            if abs(p[0] - p[1]) > 0.5 { joint += 1 }
            let q = space.indices.map { d in
                let samples = (0..<tpe.candidates).map { _ in l[d].sample(&random) }
                let score = samples.map { l[d].logPDF($0) - g[d].logPDF($0) }
                return samples[TreeParzenEstimator.firstMaximum(score)]
            }
            if abs(q[0] - q[1]) > 0.5 { independent += 1 }
        }

        // Then no proposal pairs one end of a setting with the other end of the other, where
        // setting-by-setting choices often do (Optuna 5.1 on this study, 40 seeds: 0 of 40
        // multivariate, 11 of 40 independent)
        #expect(joint == 0)
        #expect(independent >= 4, "\(independent) of 40")
    }

    @Test func aRunningTrialMakesItsNeighbourhoodLessAttractive() {
        // Given the study without its two running trials, and with a third running at 0.02
        let finished = Self.study.filter { $0.loss != nil }
        let liar = finished + [.init(number: 14, values: [0.02, 1], loss: nil)]
        func acquisition(_ observations: [TreeParzenEstimator.Observation]) -> Double {
            let (below, above) = TreeParzenEstimator.split(observations)
            let l = ParzenEstimator(observations: below.map { $0.values[0] }, dimension: Self.space[0])
            let g = ParzenEstimator(observations: above.map { $0.values[0] }, dimension: Self.space[0])
            return l.logPDF(0.02) - g.logPDF(0.02)
        }

        // Then 0.02 scores lower while a trial trains there: parallel workers spread out
        #expect(acquisition(liar) < acquisition(finished))
    }

    @Test func tpeFindsTheGoodRegionWhereRandomSearchDoesNot() {
        // Given a loss with its minimum at learning rate 0.05 and hidden width 200, and random
        // search drawing uniformly (log-uniformly for the learning rate)
        let space: [SearchDimension] = [
            .real(low: 0.001, high: 1, log: true), .integer(low: 16, high: 512, log: false),
        ]
        func loss(_ x: [Double]) -> Double {
            pow(log(x[0] / 0.05), 2) + pow((x[1] - 200) / 100, 2)
        }
        let tpe = TreeParzenEstimator(space: space)
        func search(seed: UInt64, guided: Bool) -> [Double] {
            var observations: [TreeParzenEstimator.Observation] = []
            for k in 0..<40 {
                var random = SplitMix64(seed: seed, stream: UInt64(k) + 1)
                let x =
                    guided && k >= TreeParzenEstimator.defaultStartup
                    ? tpe.proposals(observations, random: &random)[0]
                    : [
                        0.001 * pow(1000, ParzenEstimator.uniform(&random)),
                        16 + Double(random.next(below: 497)),
                    ]
                observations.append(.init(number: k, values: x, loss: loss(x)))
            }
            return observations.dropFirst(20).map { $0.loss! }
        }

        // When both search 40 trials (TPE after 10 random ones), for 5 seeds
        let seeds: [UInt64] = [1, 2, 3, 4, 5]
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let tpeLater = seeds.map { median(search(seed: $0, guided: true)) }
        let randomLater = seeds.map { median(search(seed: $0, guided: false)) }

        // Then TPE's last 20 trials are closer to the minimum, for every seed
        for (t, r) in zip(tpeLater, randomLater) { #expect(t < r, "TPE \(t), random \(r)") }
    }

    @Test func argmaxTakesTheFirstOfEqualScores() {
        #expect(TreeParzenEstimator.firstMaximum([1, 3, 2, 3]) == 1)
        #expect(TreeParzenEstimator.firstMaximum([1, .nan, 5]) == 1)
    }

    @Test func bohbModelsTheHighestRungWithEnoughResults() {
        let results = (1...9).map { RungResult(trial: $0, rung: 0, valLoss: 1) }
            + (1...3).map { RungResult(trial: $0, rung: 1, valLoss: 1) }
            + [RungResult(trial: 1, rung: 2, valLoss: 1)]

        #expect(TreeParzenEstimator.modelRung(results, needed: 3) == 1)
        #expect(TreeParzenEstimator.modelRung(results, needed: 4) == 0)
        #expect(TreeParzenEstimator.modelRung(results, needed: 1) == 2)
        #expect(TreeParzenEstimator.modelRung([], needed: 3) == 0)
    }
}
