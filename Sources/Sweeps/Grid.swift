/// The values a sweep tries: every combination of one value from each list (`Grid` for the
/// model and optimiser, `ControlGrid` for early stopping, schedule and weight decay), or N
/// random draws (`Grid.draw`). Values only: the CLI parses and checks the lists.
import Foundation
import Numerics
import Training

/// The swept model and optimiser values: every combination of one value from each list is a
/// trial.
public struct Grid: Sendable {
    public var learningRate: [Double]
    /// Hidden widths as `runs.hidden` writes them: "100" or "256,128".
    public var hidden: [String]
    public var activation: [Activation]
    public var loss: [Loss]
    public var momentum: [Double]
    public var batchSize: [Int]
    public var seed: [UInt64]

    public struct Settings: Sendable {
        public var learningRate: Double
        public var hidden: String
        public var activation: Activation
        public var loss: Loss
        public var momentum: Double
        public var batchSize: Int
        public var seed: UInt64
    }

    /// The trials of a random search, drawn by `draw`; nil for a full grid.
    public private(set) var draws: [Settings]?
    /// How the draws were made, for the sweeps.grid JSON.
    public private(set) var drawn: (count: Int, seed: UInt64, ranges: RandomRanges)?

    public init(
        learningRate: [Double], hidden: [String], activation: [Activation], loss: [Loss],
        momentum: [Double], batchSize: [Int], seed: [UInt64]
    ) {
        self.learningRate = learningRate
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        self.momentum = momentum
        self.batchSize = batchSize
        self.seed = seed
    }

    public var count: Int {
        draws?.count
            ?? learningRate.count * hidden.count * activation.count * loss.count
            * momentum.count * batchSize.count * seed.count
    }

    /// The drawn trials, or every combination in a fixed order: learning rate slowest, seed
    /// fastest.
    public var combinations: [Settings] {
        if let draws { return draws }
        return (0..<count).map { index in
            // Index k in mixed radix: the seed digit changes fastest.
            var k = index
            func pick<T>(_ values: [T]) -> T {
                defer { k /= values.count }
                return values[k % values.count]
            }
            let s = pick(seed), b = pick(batchSize), m = pick(momentum), f = pick(loss)
            let a = pick(activation), h = pick(hidden), l = pick(learningRate)
            return Settings(
                learningRate: l, hidden: h, activation: a, loss: f, momentum: m, batchSize: b,
                seed: s)
        }
    }

    /// Draws `count` trials: each setting picked from its list, or drawn from its range,
    /// from SplitMix64 stream k + 1 of `seed` for trial k, so the same command draws the same
    /// trials. A drawn real keeps 4 significant digits, to read well in names and tables.
    /// Afterwards each list holds the values drawn, so that the varied ones show.
    public mutating func draw(_ count: Int, seed drawSeed: UInt64, ranges: RandomRanges) {
        draws = (0..<count).map { k in
            var random = SplitMix64(seed: drawSeed, stream: UInt64(k) + 1)
            func pick<T>(_ values: [T]) -> T {
                values[Int(random.next(below: UInt64(values.count)))]
            }
            func value(_ range: DrawRange?, _ values: [Double]) -> Double {
                range.map { $0.draw(&random) } ?? pick(values)
            }
            let l = value(ranges.learningRate, learningRate)
            let h = ranges.hidden.map { "\(Int($0.draw(&random)))" } ?? pick(hidden)
            let a = pick(activation), f = pick(loss)
            let m = value(ranges.momentum, momentum)
            let b = ranges.batchSize.map { Int($0.draw(&random)) } ?? pick(batchSize)
            return Settings(
                learningRate: l, hidden: h, activation: a, loss: f, momentum: m, batchSize: b,
                seed: pick(seed))
        }
        drawn = (count, drawSeed, ranges)
        func distinct<T: Hashable>(_ values: [T]) -> [T] {
            var seen = Set<T>()
            return values.filter { seen.insert($0).inserted }
        }
        learningRate = distinct(combinations.map(\.learningRate))
        hidden = distinct(combinations.map(\.hidden))
        momentum = distinct(combinations.map(\.momentum))
        batchSize = distinct(combinations.map(\.batchSize))
        seed = distinct(combinations.map(\.seed))
    }

    /// "lr=0.1,hidden=256-128,activation=relu": the varied settings of one combination.
    public func label(_ s: Settings) -> String {
        var parts: [String] = []
        if learningRate.count > 1 { parts.append("lr=\(s.learningRate)") }
        if hidden.count > 1 {
            parts.append("hidden=\(s.hidden.replacingOccurrences(of: ",", with: "-"))")
        }
        if activation.count > 1 { parts.append("activation=\(s.activation.rawValue)") }
        if loss.count > 1 { parts.append("loss=\(s.loss.rawValue)") }
        if momentum.count > 1 { parts.append("momentum=\(s.momentum)") }
        if batchSize.count > 1 { parts.append("batch=\(s.batchSize)") }
        if seed.count > 1 { parts.append("seed=\(s.seed)") }
        return parts.isEmpty ? "lr=\(s.learningRate)" : parts.joined(separator: ",")
    }

    /// The grid as the sweeps.grid column stores it.
    func json() throws -> String {
        struct Columns: Encodable {
            var learning_rate: [Double], hidden: [String], activation: [String], loss: [String]
            var momentum: [Double], batch_size: [Int], seed: [UInt64]
        }
        struct Random: Encodable {
            var learning_rate: String?, hidden: String?, momentum: String?, batch_size: String?
            var trials: Int, sample_seed: UInt64
        }
        struct Drawn: Encodable {
            var random: Random
            var values: Columns
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let columns = Columns(
            learning_rate: learningRate, hidden: hidden, activation: activation.map(\.rawValue),
            loss: loss.map(\.rawValue), momentum: momentum, batch_size: batchSize, seed: seed)
        guard let drawn else { return String(decoding: try encoder.encode(columns), as: UTF8.self) }
        let random = Random(
            learning_rate: drawn.ranges.learningRate?.description,
            hidden: drawn.ranges.hidden?.description, momentum: drawn.ranges.momentum?.description,
            batch_size: drawn.ranges.batchSize?.description, trials: drawn.count,
            sample_seed: drawn.seed)
        return String(
            decoding: try encoder.encode(Drawn(random: random, values: columns)), as: UTF8.self)
    }
}

/// A range a random search draws a setting from: uniform, or log-uniform, in [low, high].
public struct DrawRange: Sendable, Equatable {
    public var low: Double
    public var high: Double
    public var log: Bool
    public var integer: Bool

    public init(low: Double, high: Double, log: Bool, integer: Bool) {
        self.low = low
        self.high = high
        self.log = log
        self.integer = integer
    }

    public func draw(_ random: inout SplitMix64) -> Double {
        let u = Double(random.next() >> 11) * 0x1p-53
        let x =
            log
            ? Foundation.exp(Foundation.log(low) + u * Foundation.log(high / low))
            : low + u * (high - low)
        if integer { return min(max(x.rounded(), low), high) }
        guard x != 0 else { return 0 }
        let scale = Foundation.pow(10, 3 - Foundation.floor(Foundation.log10(Swift.abs(x))))
        return min(max((x * scale).rounded() / scale, low), high)
    }

    /// As given: "0.01:1:log".
    public var description: String {
        let (l, h) = integer ? ("\(Int(low))", "\(Int(high))") : ("\(low)", "\(high)")
        return "\(l):\(h)\(log ? ":log" : "")"
    }
}

/// The settings of a random search given as ranges (nil: a list to pick from).
public struct RandomRanges: Sendable {
    public var learningRate: DrawRange?
    public var hidden: DrawRange?
    public var momentum: DrawRange?
    public var batchSize: DrawRange?

    public init(
        learningRate: DrawRange? = nil, hidden: DrawRange? = nil, momentum: DrawRange? = nil,
        batchSize: DrawRange? = nil
    ) {
        self.learningRate = learningRate
        self.hidden = hidden
        self.momentum = momentum
        self.batchSize = batchSize
    }
}

/// The swept control values; `combinations` is their product, weight decay slowest.
public struct ControlGrid: Sendable {
    public var weightDecay: [Double]
    public var lrSchedule: [LearningRateSchedule.Kind]
    public var minLearningRate: [Double]
    /// 0: no early stopping.
    public var patience: [Int]
    public var minDelta: [Double]

    public init(
        weightDecay: [Double] = [0], lrSchedule: [LearningRateSchedule.Kind] = [.constant],
        minLearningRate: [Double] = [0], patience: [Int] = [0], minDelta: [Double] = [0]
    ) {
        self.weightDecay = weightDecay
        self.lrSchedule = lrSchedule
        self.minLearningRate = minLearningRate
        self.patience = patience
        self.minDelta = minDelta
    }

    public struct Settings: Sendable {
        public var weightDecay: Double
        public var lrSchedule: LearningRateSchedule.Kind
        public var minLearningRate: Double
        public var patience: Int
        public var minDelta: Double
    }

    public var count: Int {
        weightDecay.count * lrSchedule.count * minLearningRate.count * patience.count
            * minDelta.count
    }

    public var combinations: [Settings] {
        weightDecay.flatMap { w in
            lrSchedule.flatMap { s in
                minLearningRate.flatMap { m in
                    patience.flatMap { p in
                        minDelta.map { d in
                            Settings(
                                weightDecay: w, lrSchedule: s, minLearningRate: m, patience: p,
                                minDelta: d)
                        }
                    }
                }
            }
        }
    }

    /// The varied settings of one combination, as run names show them: ["wd=0.0001", …].
    public func labelParts(_ s: Settings) -> [String] {
        var parts: [String] = []
        if weightDecay.count > 1 { parts.append("wd=\(s.weightDecay)") }
        if lrSchedule.count > 1 { parts.append("schedule=\(s.lrSchedule)") }
        if minLearningRate.count > 1 { parts.append("min-lr=\(s.minLearningRate)") }
        if patience.count > 1 { parts.append("patience=\(s.patience)") }
        if minDelta.count > 1 { parts.append("min-delta=\(s.minDelta)") }
        return parts
    }

    /// The grid's keys as `sweeps.grid` stores them (snake_case, like the runs columns); only
    /// the settings that were given more than their default, so older grids read the same.
    var jsonFields: [String: Any] {
        var fields: [String: Any] = [:]
        if weightDecay != [0] { fields["weight_decay"] = weightDecay }
        if lrSchedule != [.constant] { fields["lr_schedule"] = lrSchedule.map(\.description) }
        if minLearningRate != [0] { fields["min_learning_rate"] = minLearningRate }
        if patience != [0] { fields["patience"] = patience }
        if minDelta != [0] { fields["min_delta"] = minDelta }
        return fields
    }
}
