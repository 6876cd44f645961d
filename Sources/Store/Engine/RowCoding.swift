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

private struct RowDecoder: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw StoreError(.database, "a row decodes into a record, not a list.")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw StoreError(.database, "a row decodes into a record, not a single value.")
    }
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.columns.names.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { row.columns.index[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = row[key.stringValue] { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try Int64.decode(row[key.stringValue], column: key.stringValue) != 0
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try row.get(key.stringValue) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try row.get(key.stringValue) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try row.get(key.stringValue) as Double)
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try row.get(key.stringValue) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try row.get(key.stringValue) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let value = row[key.stringValue]
        if T.self == Data.self, let data = try Data.decode(value, column: key.stringValue) as? T {
            return data
        }
        return try T(from: ValueDecoder(value: value, column: key.stringValue))
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

/// One column's value, for the types that decode through a single value (String enums).
private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: SQLValue
    let column: String
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw StoreError(.database, "column \(column) holds one value, not a record.")
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw StoreError(.database, "column \(column) holds one value, not a list.")
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try Int64.decode(value, column: column) != 0 }
    func decode(_ type: String.Type) throws -> String { try String.decode(value, column: column) }
    func decode(_ type: Double.Type) throws -> Double { try Double.decode(value, column: column) }
    func decode(_ type: Int.Type) throws -> Int { try Int.decode(value, column: column) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Int64.decode(value, column: column) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
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
