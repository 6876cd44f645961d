/// SplitMix64 (Steele, Lea & Flood, 2014): a 64-bit PRNG that is fast, passes BigCrush and,
/// being pure integer arithmetic, gives the same stream on every platform.
///
///     state += 0x9E3779B97F4A7C15
///     z = state
///     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///     z = (z ^ (z >> 27)) * 0x94D049BB133111EB
///     return z ^ (z >> 31)
///
/// Every random decision in a run comes from an independent stream keyed by `(seed, stream)`,
/// with the starting state `seed ^ (stream * 0xD1B54A32D192ED03)`:
/// stream 0 initialises the weights and stream `e` shuffles epoch `e` (1-based), so any epoch's
/// order can be replayed from the seed alone, without replaying the epochs before it.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64, stream: UInt64 = 0) {
        state = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 24 bits, so every value is exactly representable in Float.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in `0..<bound` without modulo bias (Lemire, 2019).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        let threshold = (0 &- bound) % bound
        while true {
            let (high, low) = next().multipliedFullWidth(by: bound)
            if low >= threshold { return high }
        }
    }
}

/// The order in which epoch `epoch` visits `count` samples: a Fisher–Yates shuffle driven by
/// stream `epoch` of `seed`.
public func epochOrder(seed: UInt64, epoch: Int, count: Int) -> [Int32] {
    precondition(epoch >= 1, "epochs are 1-based")
    var generator = SplitMix64(seed: seed, stream: UInt64(epoch))
    var order = (0..<count).map { Int32($0) }
    var i = count - 1
    while i > 0 {
        let j = Int(generator.next(below: UInt64(i + 1)))
        order.swapAt(i, j)
        i -= 1
    }
    return order
}
