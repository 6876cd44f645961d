import Store
import Foundation
// How the Training tests compare weights and metrics: bit for bit, and never equal (nor
// different) when a NaN is involved, since a NaN is what a diverged or unwritten value holds
// and `==`/`!=` on arrays would let `!=` pass on it.

/// How many elements of `a` and `b` differ in their bits (+0 and −0 differ); nil when the
/// lengths differ or either holds a NaN, so that such arrays pass neither `== 0` nor `> 0`.
func differingBits<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Int? {
    guard a.count == b.count, !a.contains(where: \.isNaN), !b.contains(where: \.isNaN) else {
        return nil
    }
    // Without NaNs, equal values of the same sign are the same bits.
    return zip(a, b).filter { $0 != $1 || $0.sign != $1.sign }.count
}

/// A store in a new temporary file, given to `body` and removed afterwards.
func withTemporaryStore<T>(_ body: (Store) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("mnistlab-training-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try Store.open(path: directory.appendingPathComponent("t.sqlite").path)
    defer { try? store.close() }
    return try body(store)
}
