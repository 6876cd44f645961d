import Foundation
import Testing

@testable import Reports

/// `fixed` writes numbers as C's printf does, without its cost: the same text for every
/// double and number of decimals, ties and the numbers just beside them included.
@Suite(.timeLimit(.minutes(10)))
struct NumberTextTests {
    /// printf's text, "-0.00" for a tiny negative turned into "0.00" as `fixed` promises.
    func printf(_ value: Double, _ digits: Int) -> String {
        let text = String(format: "%.\(digits)f", value)
        return text.hasPrefix("-") && text.allSatisfy({ "-0.".contains($0) })
            ? String(text.dropFirst()) : text
    }

    @Test func fixedIsPrintfForRandomNumbers() {
        var generator = SystemRandomNumberGenerator()
        var seen = 0
        for _ in 0..<20_000 {
            let magnitude = Double.random(in: -12...12, using: &generator)
            let value = Double.random(in: -1...1, using: &generator) * pow(10, magnitude)
            for digits in [0, 1, 2, 3, 4, 6] {
                #expect(fixed(value, digits) == printf(value, digits), "\(value) to \(digits)")
                seen += 1
            }
        }
        #expect(seen == 120_000)
    }

    @Test func fixedRoundsTiesAsPrintfDoes() {
        // Exact binary halves round to even; decimal "halves" are not exact and go the way
        // their binary value lies; and the doubles just beside each.
        var values: [Double] = [0.5, 1.5, 2.5, 0.125, 0.375, 1.005, 2.675, 0.045, 1e-5, 5e-5, 0.99995]
        for k in 0..<2_000 { values.append((Double(k) + 0.5) / 1_000) }
        for k in 0..<2_000 { values.append(Double(k) / 8) }
        values += values.flatMap { [$0.nextUp, $0.nextDown, -$0] }
        for value in values {
            for digits in 0...6 {
                #expect(fixed(value, digits) == printf(value, digits), "\(value) to \(digits)")
            }
        }
    }

    @Test func fixedHandlesTheEdges() {
        #expect(fixed(-0.00001, 3) == "0.000")
        #expect(fixed(-0.0, 2) == "0.00")
        #expect(fixed(-1.5, 0) == "-2")
        #expect(fixed(0.0812, 4) == "0.0812")
        #expect(fixed(97.125, 2) == "97.12")
        // Beyond 2^52 units printf itself writes it.
        for value in [1e20, -3.3e15, 1e300, Double.greatestFiniteMagnitude] {
            #expect(fixed(value, 4) == printf(value, 4), "\(value)")
        }
        #expect(fixed(.nan, 2) == "NaN")
        #expect(fixed(.infinity, 2) == "∞")
        #expect(fixed(-.infinity, 2) == "-∞")
    }
}
