/// PostgreSQL's binary forms of the types a result can hold, read into `SQLValue`s. Integers
/// and floats are big-endian; the rest as each type's `*send` function in the server writes it.
import CLibPQ
import Foundation

enum PostgresBinary {
    // OIDs of the built-in types (pg_type.dat), fixed across versions.
    static let bool: Oid = 16
    static let bytea: Oid = 17
    static let name: Oid = 19
    static let int8: Oid = 20
    static let int2: Oid = 21
    static let int4: Oid = 23
    static let text: Oid = 25
    static let oid: Oid = 26
    static let json: Oid = 114
    static let float4: Oid = 700
    static let float8: Oid = 701
    static let bpchar: Oid = 1042
    static let varchar: Oid = 1043
    static let date: Oid = 1082
    static let timestamp: Oid = 1114
    static let timestamptz: Oid = 1184
    static let numeric: Oid = 1700
    static let uuid: Oid = 2950
    static let jsonb: Oid = 3802

    /// PostgreSQL's epoch for dates and timestamps, 2000-01-01 UTC, in Unix seconds.
    private static let epoch: Double = 946_684_800

    /// A cell by its column's type; a type without a reader here shows as its text when its
    /// binary form is text (enums, xml, citext…), else as `<type OID>`.
    static func value(type: Oid, _ bytes: UnsafeRawBufferPointer) -> SQLValue {
        switch (type, bytes.count) {
        case (int8, 8): return .integer(integer(bytes, as: Int64.self))
        case (int4, 4): return .integer(Int64(integer(bytes, as: Int32.self)))
        case (int2, 2): return .integer(Int64(integer(bytes, as: Int16.self)))
        case (oid, 4): return .integer(Int64(integer(bytes, as: UInt32.self)))
        case (float8, 8): return .real(Double(bitPattern: integer(bytes, as: UInt64.self)))
        case (float4, 4): return .real(Double(Float(bitPattern: integer(bytes, as: UInt32.self))))
        case (bool, 1): return .text(bytes[0] != 0 ? "true" : "false")
        case (bytea, _): return .blob(Array(bytes))
        case (text, _), (varchar, _), (name, _), (bpchar, _), (json, _):
            return .text(String(decoding: bytes, as: UTF8.self))
        case (jsonb, _) where bytes.first == 1:
            return .text(String(decoding: bytes.dropFirst(), as: UTF8.self))
        case (numeric, _): return numericValue(bytes) ?? undecodable(type)
        case (timestamptz, 8), (timestamp, 8):
            let microseconds = integer(bytes, as: Int64.self)
            return .text(iso8601(epoch + Double(microseconds) / 1_000_000))
        case (date, 4):
            return .text(iso8601(epoch + Double(integer(bytes, as: Int32.self)) * 86_400))
        case (uuid, 16):
            let hex = bytes.map { String(format: "%02x", $0) }
            return .text(
                [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }
                    .joined(separator: "-"))
        default:
            guard let text = String(validating: Array(bytes), as: UTF8.self),
                !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
            else { return undecodable(type) }
            return .text(text)
        }
    }

    private static func integer<T: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, as _: T.Type, at offset: Int = 0
    ) -> T {
        T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    private static func iso8601(_ unixSeconds: Double) -> String {
        Date(timeIntervalSince1970: unixSeconds)
            .formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// numeric: ndigits, weight, sign and dscale (16 bits each), then ndigits base-10000
    /// digits, the first worth 10000^weight. A scale of 0 is a whole number, as `sum()` of
    /// an integer column gives: an integer, as SQLite's `sum()` is, rather than "100.0";
    /// `avg()` and the like keep a scale and read as a double.
    static func numericValue(_ bytes: UnsafeRawBufferPointer) -> SQLValue? {
        guard bytes.count >= 8 else { return nil }
        let count = Int(integer(bytes, as: Int16.self))
        let weight = Int(integer(bytes, as: Int16.self, at: 2))
        let sign = integer(bytes, as: UInt16.self, at: 4)
        let scale = Int(integer(bytes, as: Int16.self, at: 6))
        guard count >= 0, bytes.count == 8 + 2 * count else { return nil }
        switch sign {
        case 0xC000: return .real(.nan)
        case 0xD000: return .real(.infinity)
        case 0xF000: return .real(-.infinity)
        case 0x0000, 0x4000: break
        default: return nil
        }
        func digit(_ power: Int) -> Int {
            let index = weight - power
            guard index >= 0, index < count else { return 0 }
            return Int(integer(bytes, as: Int16.self, at: 8 + 2 * index))
        }
        var whole = weight >= 0 ? String(digit(weight)) : "0"
        if weight >= 1 {
            for power in stride(from: weight - 1, through: 0, by: -1) {
                whole += String(format: "%04d", digit(power))
            }
        }
        let negative = sign == 0x4000 ? "-" : ""
        guard scale > 0 else {
            return Int64(negative + whole).map(SQLValue.integer)
                ?? Double(negative + whole).map(SQLValue.real)
        }
        var fraction = ""
        for power in stride(from: -1, through: -((scale + 3) / 4), by: -1) {
            fraction += String(format: "%04d", digit(power))
        }
        return Double(negative + whole + "." + fraction.prefix(scale)).map(SQLValue.real)
    }

    private static func undecodable(_ type: Oid) -> SQLValue {
        .text("<type \(type)>")
    }
}
