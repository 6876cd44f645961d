/// A row as the engines return it, and the conversions between stored values and Swift's.
import Foundation
import Synchronization

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
    /// Where each record type's columns are in this result, found at its first row; a list,
    /// not a dictionary: a result is decoded as one or two types, and hashing the key of each
    /// row cost more than scanning them.
    private let layouts = Mutex<[(type: ObjectIdentifier, layout: ColumnLayout)]>([])

    init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (k, name) in names.enumerated() where index[name] == nil { index[name] = k }
        self.index = index
    }

    /// The positions of `Key`'s columns in the order of its declaration (`allCases`), found
    /// by name once per result and key type, not once per row (a page of 5,000 runs spent a
    /// fifth of its time looking up 250,000 names). Empty for keys that are not CaseIterable.
    func layout<Key: CodingKey>(of _: Key.Type) -> ColumnLayout {
        let type = ObjectIdentifier(Key.self)
        return layouts.withLock { layouts in
            if let known = layouts.first(where: { $0.type == type }) { return known.layout }
            var names: [String] = []
            if let keys = Key.self as? any (CodingKey & CaseIterable).Type { names = Self.names(keys) }
            let layout = ColumnLayout(names: names, positions: names.map { index[$0] ?? -1 })
            layouts.append((type, layout))
            return layout
        }
    }

    private static func names<Key: CodingKey & CaseIterable>(_: Key.Type) -> [String] {
        Key.allCases.map(\.stringValue)
    }
}

/// A record's column names in the order it declares them, and where each is in one result
/// (-1: the result has no such column).
final class ColumnLayout: Sendable {
    let names: [String]
    let positions: [Int]
    /// Name → its index in `names`.
    let slots: [String: Int]

    init(names: [String], positions: [Int]) {
        self.names = names
        self.positions = positions
        var slots: [String: Int] = [:]
        for (k, name) in names.enumerated() where slots[name] == nil { slots[name] = k }
        self.slots = slots
    }
}

/// Reads a record from one row by hand, column after column in the order of `Key.allCases`
/// (debug builds check that each read names the column that comes next): the records the
/// runs page and `runs` read by the thousand (`RowDecodable`). A read costs a third of one
/// through `Decodable`, whose keyed container the standard library reaches through a box of
/// unspecialized generic code (BENCHMARKS.md, "Records decoded from their declaration").
struct ColumnReader<Key: CodingKey & CaseIterable> {
    private let row: SQLRow
    private let layout: ColumnLayout
    private var next = 0

    init(_ row: SQLRow) {
        self.row = row
        layout = row.columns.layout(of: Key.self)
    }

    /// The value of column `key`, the next one of `Key.allCases`. A column the result lacks
    /// reads as NULL into an Optional, and throws otherwise.
    mutating func read<T: SQLDecodable>(_ key: Key) throws -> T {
        defer { next += 1 }
        let name = layout.names[next]
        assert(name == key.stringValue, "read \(key.stringValue) where \(name) comes next")
        let position = layout.positions[next]
        guard position >= 0 else {
            guard let absent = try? T.decode(.null, column: name) else {
                throw StoreError(.database, "the result has no column \(name).")
            }
            return absent
        }
        return try T.decode(row.values[position], column: name)
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

extension SQLDecodable where Self: RawRepresentable<String> {
    /// A String enum, e.g. a run's status.
    static func decode(_ value: SQLValue, column: String) throws -> Self {
        guard case .text(let text) = value, let decoded = Self(rawValue: text) else {
            throw value.mismatch(Self.self, column)
        }
        return decoded
    }
}

extension Array: SQLDecodable where Element == String {
    /// A list kept as comma-separated text (run_summary.tags); NULL is the empty list.
    static func decode(_ value: SQLValue, column: String) throws -> [String] {
        switch value {
        case .null: return []
        case .text(let text): return text.split(separator: ",").map(String.init)
        default: throw value.mismatch(Self.self, column)
        }
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
