// How the Numerics tests compare arrays. An output a kernel forgot to write keeps the NaN the
// test filled it with, and `Sequence.max()` skips a NaN (unless it comes first), so every
// comparison here treats a NaN as a failure, never as "no error".

import Testing

/// The largest of `errors`, or NaN as soon as one is NaN.
func largest<T: FloatingPoint>(_ errors: some Sequence<T>) -> T {
    var result: T = 0
    for error in errors {
        if error.isNaN { return .nan }
        result = max(result, error)
    }
    return result
}

/// The largest |a[k] − b[k]|: NaN when the lengths differ or either array holds a NaN, so no
/// tolerance can pass it.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .nan }
    return largest(zip(a, b).map { abs($0 - $1) })
}

/// How many elements of `a` and `b` differ in their bits; nil when the lengths differ or either
/// holds a NaN, so that an unwritten output passes neither `== 0` nor `> 0`. With
/// `allowingNaN` (a NaN input must give a NaN output), NaNs are compared by their bits too.
func differingBits(_ a: [Float], _ b: [Float], allowingNaN: Bool = false) -> Int? {
    guard a.count == b.count else { return nil }
    if !allowingNaN, a.contains(where: \.isNaN) || b.contains(where: \.isNaN) { return nil }
    return zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
}

/// Same bits on every path as on the first (scalar).
func expectPathsAgree(_ results: [[Float]], _ what: String, allowingNaN: Bool = false) {
    for (p, result) in results.enumerated().dropFirst() {
        let differing = differingBits(results[0], result, allowingNaN: allowingNaN)
        let count = differing.map(String.init) ?? "NaN"
        #expect(differing == 0, "\(what): path \(p) differs from scalar in \(count) elements")
    }
}

/// Equal up to fp32 rounding of sums of a few hundred terms of size ≤ 1.
func expectClose(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float = 1e-4) {
    let error = maxAbsDifference(a, b)
    #expect(error <= tolerance, "\(what): max abs error \(error)")
}

/// The helpers themselves: a NaN anywhere fails, where `.max()` of the errors would skip it.
@Suite(.timeLimit(.minutes(10)))
struct ComparisonTests {
    @Test func aNaNAnywhereIsNeverClose() {
        #expect(maxAbsDifference([1, 2, 3], [1, 2.5, 3]) == 0.5)
        #expect(maxAbsDifference([1, .nan, 3], [1, 2, 3]).isNaN)
        #expect(maxAbsDifference([1, 2], [1, 2, 3]).isNaN)
        #expect(largest([0.5, .nan, 0.25]).isNaN)  // [0.5, .nan, 0.25].max() is 0.5
    }

    @Test func aNaNIsNeitherEqualNorDifferentUnlessAllowed() {
        #expect(differingBits([1, -0.0], [1, 0]) == 1)
        #expect(differingBits([1, .nan], [1, .nan]) == nil)
        #expect(differingBits([1, .nan], [2, 3]) == nil)
        #expect(differingBits([1, .nan], [1, .nan], allowingNaN: true) == 0)
    }
}
