import TestSupport
import Testing

@testable import Store

/// PostgreSQL's binary forms read into values, from bytes as the server sends them.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct PostgresBinaryTests {
    /// numeric's binary form: ndigits, weight, sign, dscale, then base-10000 digits.
    private func numeric(weight: Int16, sign: UInt16, scale: Int16, _ digits: [Int16]) -> [UInt8] {
        let header = [Int16(digits.count), weight, Int16(bitPattern: sign), scale]
        return (header + digits).flatMap { [UInt8(truncatingIfNeeded: $0 >> 8), UInt8(truncatingIfNeeded: $0)] }
    }

    private func value(_ type: UInt32, _ bytes: [UInt8]) -> SQLValue {
        bytes.withUnsafeBytes { PostgresBinary.value(type: type, $0) }
    }

    @Test func numericWithAScaleIsADouble() {
        #expect(value(1700, numeric(weight: 0, sign: 0, scale: 1, [1, 5000])) == .real(1.5))
        #expect(value(1700, numeric(weight: -1, sign: 0x4000, scale: 3, [10])) == .real(-0.001))
        #expect(value(1700, numeric(weight: 1, sign: 0, scale: 2, [12, 3456, 7800])) == .real(123456.78))
    }

    @Test func wholeNumericIsAnInteger() {
        // sum() of an integer column, as SQLite's sum() gives it
        #expect(value(1700, numeric(weight: 1, sign: 0, scale: 0, [1])) == .integer(10000))
        #expect(value(1700, numeric(weight: 0, sign: 0, scale: 0, [])) == .integer(0))
        #expect(value(1700, numeric(weight: 2, sign: 0x4000, scale: 0, [3, 0, 7])) == .integer(-300000007))
    }

    @Test func specialNumericsAreDoubles() {
        if case .real(let nan) = value(1700, numeric(weight: 0, sign: 0xC000, scale: 0, [])) {
            #expect(nan.isNaN)
        } else {
            Issue.record("NaN did not read as a double")
        }
        #expect(value(1700, numeric(weight: 0, sign: 0xD000, scale: 0, [])) == .real(.infinity))
    }

    @Test func malformedNumericIsNamedByItsType() {
        #expect(value(1700, [0, 5, 0, 0]) == .text("<type 1700>"))
    }

    @Test func timestampsAndUUIDsReadAsText() {
        // 2000-01-02T00:00:00.5Z: one day and half a second after PostgreSQL's epoch
        let microseconds = Int64(86_400_500_000)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: microseconds >> (56 - 8 * $0)) }
        #expect(value(1184, bytes) == .text("2000-01-02T00:00:00.500Z"))
        #expect(
            value(2950, Array(0..<16)) == .text("00010203-0405-0607-0809-0a0b0c0d0e0f"))
    }
}
