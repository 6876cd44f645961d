/// A row as the engines return it, and the conversions between stored values and Swift's.
import Foundation

/// One row of a result: values by column name, decoded to the type asked for.
struct SQLRow: Sendable {
    /// Column name → index, shared by every row of one result.
    let columns: SQLColumns
    let values: [SQLValue]

    subscript(_ column: String) -> SQLValue {
        columns.index[column].map { values[$0] } ?? .null
    }

    /// The column's value as `T`; `.null` decodes only into an Optional. Throws for a missing
    /// column or a value of another type.
    func get<T: SQLDecodable>(_ column: String) throws -> T {
        guard let index = columns.index[column] else {
            throw StoreError(.database, "the result has no column \(column).")
        }
        return try T.decode(values[index], column: column)
    }
}

/// The columns of one result, in order, with their positions.
final class SQLColumns: Sendable {
    let names: [String]
    let index: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (k, name) in names.enumerated() where index[name] == nil { index[name] = k }
        self.index = index
    }
}

/// A Swift type stored in one column.
protocol SQLDecodable {
    static func decode(_ value: SQLValue, column: String) throws -> Self
}

extension SQLValue {
    func mismatch(_ type: Any.Type, _ column: String) -> StoreError {
        StoreError(.database, "column \(column) holds \(self), not a value of type \(type).")
    }
}

extension Int64: SQLDecodable {
    static func decode(_ value: SQLValue, column: String) throws -> Int64 {
        guard case .integer(let integer) = value else { throw value.mismatch(Self.self, column) }
        return integer
    }
}

extension Int: SQLDecodable {
    static func decode(_ value: SQLValue, column: String) throws -> Int {
        guard case .integer(let integer) = value, let int = Int(exactly: integer) else {
            throw value.mismatch(Self.self, column)
        }
        return int
    }
}

extension Double: SQLDecodable {
    /// An integer reads as a Double too: SQLite returns `sum()` of integral reals, and
    /// PostgreSQL a `count(*)`, as integers.
    static func decode(_ value: SQLValue, column: String) throws -> Double {
        switch value {
        case .real(let real): return real
        case .integer(let integer): return Double(integer)
        default: throw value.mismatch(Self.self, column)
        }
    }
}

extension String: SQLDecodable {
    static func decode(_ value: SQLValue, column: String) throws -> String {
        guard case .text(let text) = value else { throw value.mismatch(Self.self, column) }
        return text
    }
}

extension Data: SQLDecodable {
    static func decode(_ value: SQLValue, column: String) throws -> Data {
        guard case .blob(let bytes) = value else { throw value.mismatch(Self.self, column) }
        return Data(bytes)
    }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    static func decode(_ value: SQLValue, column: String) throws -> Wrapped? {
        if case .null = value { return nil }
        return try Wrapped.decode(value, column: column)
    }
}

/// A Swift value bound to a placeholder.
protocol SQLEncodable {
    var sqlValue: SQLValue { get }
}

extension Int64: SQLEncodable { var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLEncodable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Double: SQLEncodable { var sqlValue: SQLValue { .real(self) } }
extension String: SQLEncodable { var sqlValue: SQLValue { .text(self) } }
extension Data: SQLEncodable { var sqlValue: SQLValue { .blob([UInt8](self)) } }
extension Optional: SQLEncodable where Wrapped: SQLEncodable {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
}
