/// What a sweep found, from its finished trials: which varying settings mattered for best
/// validation loss (fANOVA), the settings of the best trial, and, where the sweep varies the
/// seed, each configuration's mean and standard deviation over its seeds.
///
/// A setting's search axis comes from the sweep's definition where it has one, else from the
/// values its trials took (`SweptSetting.searchAxis`):
/// - a random range ("0.01:1:log") → a numeric axis over the range's ends, log if the range is;
/// - a list of numbers → a numeric axis over min…max, on a log scale when every value is
///   positive and max/min ≥ 100 (two decades: a learning-rate list like 0.001, 0.01, 0.1 is
///   meant on a log scale, a momentum list like 0, 0.5, 0.9 on a linear one);
/// - hidden widths (a list of layer lists), activation, loss, schedule, patience and seed → a
///   categorical axis, one choice per value the trials took.
import Foundation
import Importance
import Store
import Training

public struct SweepFindings: Sendable, Equatable {
    /// The method `importance` names in its header.
    public static let method =
        "fANOVA over a random forest (\(Importance.defaultTrees) trees, as Optuna's default)"

    /// A varying setting's share of the variance of best validation loss.
    public struct Share: Sendable, Equatable {
        public var setting: SweptSetting
        public var share: Double
    }

    /// A varying setting's value in the best trial, as text ("0.1", "256,128", "relu").
    public struct BestValue: Sendable, Equatable {
        public var setting: SweptSetting
        public var value: String
    }

    /// One configuration (every setting but the seed) over its seeds.
    public struct SeedGroup: Sendable, Equatable {
        /// The configuration's varying settings other than the seed: "lr=0.1,momentum=0.9".
        public var configuration: String
        public var seeds: [UInt64]
        /// Mean of the seeds' best validation losses.
        public var mean: Double
        /// Their sample standard deviation (n − 1); nil for a single seed.
        public var standardDeviation: Double?
    }

    /// Finished trials measured: completed, with a run that has a best validation loss.
    public var finished: Int
    /// Settings that took more than one value among the finished trials, in `SweptSetting`
    /// order.
    public var varying: [SweptSetting]
    /// Settings every finished trial shares.
    public var constant: [SweptSetting]
    /// The varying settings, most important first; nil when there is nothing to explain
    /// (fewer than 2 finished trials, none varying, or a metric that never varies).
    public var importance: [Share]?
    /// The best trial's run and its value of each varying setting.
    public var bestRunID: Int64?
    public var bestSettings: [BestValue]
    /// Configurations ranked by mean, where the seed varies and some configuration has more
    /// than one seed; empty otherwise.
    public var seedGroups: [SeedGroup]

    /// The findings of a sweep defined by `grid` (`sweeps.grid`), from its trials and its
    /// runs' summaries. Trials whose settings this build cannot read are left out.
    public init(grid: String, trials: [TrialRecord], summaries: [RunSummary]) {
        let losses = Dictionary(
            summaries.compactMap { s in s.bestValLoss.map { (s.run.id, $0) } },
            uniquingKeysWith: { a, _ in a })
        let measured: [(runID: Int64, settings: TrialSettings, loss: Double)] = trials.compactMap {
            t in
            guard t.status == .completed, let runID = t.runID, let loss = losses[runID],
                let settings = try? t.decodedSettings()
            else { return nil }
            return (runID, settings, loss)
        }
        self.init(measured: measured, ranges: Self.ranges(grid: grid))
    }

    init(
        measured: [(runID: Int64, settings: TrialSettings, loss: Double)],
        ranges: [SweptSetting: DrawRange]
    ) {
        let hyperparameters = measured.map { $0.settings.hyperparameters }
        let varying = SweptSetting.allCases.filter { setting in
            Set(hyperparameters.map { setting.value(of: $0) }).count > 1
        }
        let axes = varying.map { SweptSetting.searchAxis($0, values: hyperparameters, range: ranges[$0]) }
        let columns = zip(varying, axes).map { setting, axis in setting.coordinates(of: hyperparameters, on: axis) }
        let points = hyperparameters.indices.map { i in columns.map { $0[i] } }
        let best = measured.min { $0.loss < $1.loss }
        finished = measured.count
        self.varying = varying
        constant = measured.isEmpty ? [] : SweptSetting.allCases.filter { !varying.contains($0) }
        importance = Importance.fanova(dimensions: axes, points: points, metric: measured.map { $0.loss })
            .map { shares in
                zip(varying, shares).map { Share(setting: $0, share: $1) }
                    .sorted { $0.share > $1.share }
            }
        bestRunID = best?.runID
        bestSettings =
            best.map { b in
                varying.map { BestValue(setting: $0, value: $0.text(of: b.settings.hyperparameters)) }
            } ?? []
        // A random search that draws the seed with the rest repeats no configuration: no group
        // of one seed says anything about seeds.
        let groups = varying.contains(.seed) ? Self.seedGroups(measured, varying: varying) : []
        seedGroups = groups.contains { $0.seeds.count > 1 } ? groups : []
    }

    /// The trials grouped by every setting but the seed, ranked by mean best validation loss.
    static func seedGroups(
        _ measured: [(runID: Int64, settings: TrialSettings, loss: Double)], varying: [SweptSetting]
    ) -> [SeedGroup] {
        let others = varying.filter { $0 != .seed }
        var order: [String] = []
        var groups: [String: [(seed: UInt64, loss: Double)]] = [:]
        for m in measured {
            let h = m.settings.hyperparameters
            let key = others.map { "\($0.label)=\($0.text(of: h))" }.joined(separator: ",")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append((h.seed, m.loss))
        }
        return order.map { key in
            let members = groups[key] ?? []
            let losses = members.map { $0.loss }
            let mean = losses.reduce(0, +) / Double(losses.count)
            let deviation =
                losses.count > 1
                ? (losses.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(losses.count - 1))
                    .squareRoot() : nil
            return SeedGroup(
                configuration: key.isEmpty ? "(all)" : key, seeds: members.map { $0.seed }, mean: mean,
                standardDeviation: deviation)
        }.sorted { $0.mean < $1.mean }
    }

    /// The random ranges `sweeps.grid` records for a random search ({"random": {"learning_rate":
    /// "0.01:1:log", …}}); empty for a grid, or for text this build cannot read.
    public static func ranges(grid: String) -> [SweptSetting: DrawRange] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(grid.utf8)) as? [String: Any],
            let random = object["random"] as? [String: Any]
        else { return [:] }
        var ranges: [SweptSetting: DrawRange] = [:]
        for setting in SweptSetting.allCases {
            if let text = random[setting.column] as? String, let range = DrawRange(text) {
                ranges[setting] = range
            }
        }
        return ranges
    }
}

extension DrawRange {
    /// Reads `description` back: "0.01:1:log", "16:256"; nil for anything else.
    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || (parts.count == 3 && parts[2] == "log"),
            let low = Double(parts[0]), let high = Double(parts[1]), low.isFinite, high.isFinite,
            low < high, parts.count == 2 || low > 0
        else { return nil }
        self.init(low: low, high: high, log: parts.count == 3, integer: false)
    }
}

extension SweptSetting {
    /// The name `runs` columns and JSON keys give the setting.
    public var column: String {
        switch self {
        case .learningRate: "learning_rate"
        case .hidden: "hidden"
        case .activation: "activation"
        case .loss: "loss"
        case .momentum: "momentum"
        case .batchSize: "batch_size"
        case .seed: "seed"
        case .weightDecay: "weight_decay"
        case .lrSchedule: "lr_schedule"
        case .minLearningRate: "min_learning_rate"
        case .patience: "patience"
        case .minDelta: "min_delta"
        }
    }

    /// The short name run names give it ("lr=0.1").
    public var label: String {
        switch self {
        case .learningRate: "lr"
        case .batchSize: "batch"
        case .weightDecay: "wd"
        case .lrSchedule: "schedule"
        case .minLearningRate: "min-lr"
        case .minDelta: "min-delta"
        default: rawValue
        }
    }

    /// The setting's value in `h` as text: "0.1", "256,128", "relu", "-" for no patience.
    public func text(of h: Hyperparameters) -> String {
        switch self {
        case .hidden: h.hidden.map(String.init).joined(separator: ",")
        case .activation: h.activation.rawValue
        case .loss: h.loss.rawValue
        case .lrSchedule: h.lrSchedule.description
        case .patience: h.patience.map(String.init) ?? "-"
        case .seed: "\(h.seed)"
        case .batchSize: "\(h.batchSize)"
        default: number(of: h).map { "\($0)" } ?? ""
        }
    }

    /// The value of a setting measured on a numeric axis; nil for one that is always
    /// categorical.
    func number(of h: Hyperparameters) -> Double? {
        switch self {
        case .learningRate: h.learningRate
        case .momentum: h.momentum
        case .batchSize: Double(h.batchSize)
        case .weightDecay: h.weightDecay
        case .minLearningRate: h.minLearningRate
        case .minDelta: h.minDelta
        case .hidden: h.hidden.count == 1 ? Double(h.hidden[0]) : nil
        case .activation, .loss, .lrSchedule, .patience, .seed: nil
        }
    }

    /// The setting's axis for fANOVA, over the values `values` take (see the file's header):
    /// `range`, the random range it was drawn from, if any; else a numeric axis over the
    /// values' span where every value is a number, else a categorical one.
    public static func searchAxis(
        _ setting: SweptSetting, values: [Hyperparameters], range: DrawRange?
    ) -> SearchAxis {
        let name = setting.column
        let numbers = setting == .hidden && range == nil ? [] : values.compactMap(setting.number)
        if let range, numbers.count == values.count {
            return .numeric(
                name, lower: min(range.low, numbers.min() ?? range.low),
                upper: max(range.high, numbers.max() ?? range.high), log: range.log)
        }
        if !numbers.isEmpty, numbers.count == values.count, let low = numbers.min(),
            let high = numbers.max(), low < high
        {
            return .numeric(name, lower: low, upper: high, log: low > 0 && high / low >= 100)
        }
        return .categorical(name, count: max(choices(setting, values).count, 1))
    }

    /// Each of `values`' coordinates on `axis`: its number, or its choice's index among the
    /// values' distinct values in order of first appearance (the choices listed once, not once
    /// per value: at 1,000 trials that was most of the time a sweep's findings took).
    func coordinates(of values: [Hyperparameters], on axis: SearchAxis) -> [Double] {
        guard case .categorical = axis.scale else { return values.map { number(of: $0) ?? 0 } }
        var index: [AnyHashable: Int] = [:]
        for (k, choice) in Self.choices(self, values).enumerated() { index[choice] = k }
        return values.map { Double(index[value(of: $0)] ?? 0) }
    }

    static func choices(_ setting: SweptSetting, _ values: [Hyperparameters]) -> [AnyHashable] {
        var seen = Set<AnyHashable>()
        return values.map { setting.value(of: $0) }.filter { seen.insert($0).inserted }
    }
}
