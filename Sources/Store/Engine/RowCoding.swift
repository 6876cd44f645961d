/// Codable records ⇄ rows: a record whose `CodingKeys` are its table's column names decodes
/// from an `SQLRow` and encodes to the (column, value) pairs an INSERT binds, on any engine.
import Foundation

extension SQLRow {
    /// Decodes `T` from this row, each property from the column of its coding key.
    func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try T(from: RowDecoder(row: self))
    }
}

extension SQLConnection {
    /// `INSERT INTO table (columns of record) VALUES (…)`, every value bound: the columns of
    /// its coding keys, in order; nil optionals are left out, so their columns take their
    /// defaults (NULL). A column named in `expressions` takes that SQL instead of the record's
    /// value: the dialect's clock, so that a timestamp is the database's, never the client's.
    func insert<T: Encodable>(
        _ record: T, into table: String, expressions: [String: String] = [:]
    ) throws {
        let encoder = RowEncoder()
        try record.encode(to: encoder)
        let pairs = encoder.storage.pairs.filter { expressions[$0.column] == nil }
        try insert(
            pairs.map(\.value), columns: pairs.map(\.column), into: table, expressions: expressions)
    }

    /// `INSERT INTO table (columns) VALUES (…)`, `values` bound in the same order, then the
    /// columns of `expressions` with their SQL.
    func insert(
        _ values: [SQLValue], columns: [String], into table: String,
        expressions: [String: String] = [:]
    ) throws {
        let computed = expressions.sorted { $0.key < $1.key }
        let names = columns + computed.map(\.key)
        let placeholders = Array(repeating: "?", count: columns.count) + computed.map(\.value)
        try execute(
            "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(placeholders.joined(separator: ", ")))",
            values)
    }
}

// MARK: - Decoding

/// Decodes a record through its synthesized `init(from:)`, fast enough for the runs page's
/// thousands of rows (a decoder that looked each column up by name was a third of its time).
/// Each record's container follows the columns of its coding keys in declaration order
/// (`ColumnLayout`, resolved once per result and key type) with a cursor: a key that comes
/// next costs one comparison of identical strings, one out of order a lookup by name that
/// moves the cursor after it. Int64, Int, Double and String are read without a dynamic cast
/// or a nested decoder; other `SQLDecodable` types (String enums, `Data`, `[String]`) with
/// one cast. A property of a `Decodable` type that is not `SQLDecodable` is a record of its
/// own read from the same row (RunSummary's `run`).
private struct RowDecoder: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw StoreError(.database, "a row decodes into a record, not a list.")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw StoreError(.database, "a row decodes into a record, not a single value.")
    }
}

/// A class, so that the cursor moves although the protocol's reads are not `mutating`.
private final class RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: SQLRow
    let layout: ColumnLayout
    /// The index in `layout` of the column expected next.
    var next = 0

    init(_ row: SQLRow) {
        self.row = row
        layout = row.columns.layout(of: Key.self)
    }

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.columns.names.compactMap(Key.init(stringValue:)) }

    /// Where `key`'s column is in the row, nil when the result has none; `advance` moves the
    /// cursor past it (a read), otherwise it stays (a question such as `contains`).
    private func position(of name: String, advance: Bool) -> Int? {
        if next < layout.names.count, layout.names[next] == name {
            let position = layout.positions[next]
            if advance { next += 1 }
            return position
        }
        guard let slot = layout.slots[name] else { return row.columns.index[name] }
        if advance { next = slot + 1 }
        return layout.positions[slot]
    }

    /// The value of `key`'s column as `T`, through `decode`; a column the result lacks reads
    /// as NULL where `T` takes one (an Optional) and throws otherwise.
    @inline(__always)
    private func read<T>(
        _ key: Key, _ decode: (SQLValue, String) throws -> T
    ) throws -> T {
        let name = key.stringValue
        guard let position = position(of: name, advance: true) else {
            guard let absent = try? decode(.null, name) else {
                throw StoreError(.database, "the result has no column \(name).")
            }
            return absent
        }
        return try decode(row.values[position], name)
    }

    func contains(_ key: Key) -> Bool { position(of: key.stringValue, advance: false) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let position = position(of: key.stringValue, advance: false) else { return true }
        if case .null = row.values[position] { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try read(key, Int64.decode) != 0
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try read(key, String.decode)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try read(key, Double.decode)
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try read(key, Double.decode))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try read(key, Int.decode) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try read(key, Int64.decode)
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try read(key, String?.decode)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try read(key, Double?.decode)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try read(key, Int?.decode)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try read(key, Int64?.decode)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let column = T.self as? any SQLDecodable.Type else {
            _ = position(of: key.stringValue, advance: true)
            return try T(from: RowDecoder(row: row))
        }
        return try read(key) { value, name in try column.decode(value, column: name) as! T }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let column = T.self as? any SQLDecodable.Type else {
            return try decode(type, forKey: key)
        }
        return try read(key) { value, name in
            if case .null = value { return nil }
            return try column.decode(value, column: name) as! T?
        }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        throw StoreError(.database, "column \(key.stringValue) holds one value, not a record.")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw StoreError(.database, "column \(key.stringValue) holds one value, not a list.")
    }

    func superDecoder() throws -> any Decoder { RowDecoder(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: row) }
}

// MARK: - Encoding

private final class RowStorage {
    var pairs: [(column: String, value: SQLValue)] = []
}

private struct RowEncoder: Encoder {
    let storage = RowStorage()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(RowEncodingContainer<Key>(storage: storage))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        preconditionFailure("a record encodes into a row, not a list")
    }
    func singleValueContainer() -> any SingleValueEncodingContainer {
        preconditionFailure("a record encodes into a row, not a single value")
    }
}

private struct RowEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: RowStorage
    var codingPath: [any CodingKey] { [] }

    private func put(_ value: SQLValue, _ key: Key) {
        storage.pairs.append((key.stringValue, value))
    }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.integer(value ? 1 : 0), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.text(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.real(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.integer(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        switch value {
        case let data as Data: put(.blob([UInt8](data)), key)
        case let raw as any RawRepresentable<String>: put(.text(raw.rawValue), key)
        default:
            throw StoreError(.database, "column \(key.stringValue) can't store a \(T.self).")
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("column \(key.stringValue) holds one value, not a record")
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        preconditionFailure("column \(key.stringValue) holds one value, not a list")
    }
    mutating func superEncoder() -> any Encoder { RowEncoder() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { RowEncoder() }
}
