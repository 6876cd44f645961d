/// Codable records ⇄ rows: a record whose `CodingKeys` are its table's column names decodes
/// from an `SQLRow` and encodes to the (column, value) pairs an INSERT binds, on any engine.
import Foundation
import Synchronization

extension SQLRow {
    /// Decodes `T` from this row through its `Decodable` declaration: each property from the
    /// column of its coding key.
    func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try T(from: decoder)
    }

    /// Decodes `T` from this row with its reader by hand (`RowDecodable`).
    func decode<T: RowDecodable>(_ type: T.Type = T.self) throws -> T {
        try T(row: self)
    }

    /// A decoder of this row, for `init(from:)`.
    var decoder: any Decoder { RowDecoder(row: self) }
}

/// A record that the runs page or `runs` reads by the thousand, and that therefore also reads
/// its columns by hand (`ColumnReader`, in the order of its coding keys): through its
/// `Decodable` declaration, which stays the definition (RowDecoderTests check that the two
/// agree on every column), a row costs about four times as much. `SQLRow.decode`, and a
/// record holding one as a property (RunSummary's `run`), use `init(row:)`.
protocol RowDecodable: Decodable {
    init(row: SQLRow) throws
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

/// Decodes a record through its synthesized `init(from:)`. Each record's container follows
/// the columns of its coding keys in declaration order (`ColumnLayout`, resolved once per
/// result and key type) with a cursor: a key that comes next costs one comparison of
/// identical strings, one out of order a lookup by name that moves the cursor after it.
/// Int64, Int, Double and String are read without a dynamic cast or a nested decoder; other
/// `SQLDecodable` types (String enums, `Data`, `[String]`) through a kind found once per type.
/// A property of a `Decodable` type that is not `SQLDecodable` is a record of its own read
/// from the same row (RunSummary's `run`). What is left, about 350 instructions a column
/// against 130 by hand, is mostly the standard library's: a keyed container is reached
/// through a box of unspecialized generic code (see `RowDecodable`).
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

/// One record's columns in one row, read in declaration order: the part of its container
/// that does not depend on the key type, so that it runs as specialized code (the generic
/// container, reached through `any Decoder`, runs unspecialized).
private final class RowCursor {
    let row: SQLRow
    let names: [String]
    let positions: [Int]
    let slots: [String: Int]
    /// The index in `names` of the column expected next.
    var next = 0

    init(_ row: SQLRow, _ layout: ColumnLayout) {
        self.row = row
        names = layout.names
        positions = layout.positions
        slots = layout.slots
    }

    /// Where column `name` is in the row, nil when the result has none; `advance` moves the
    /// cursor past it (a read), otherwise it stays (a question such as `contains`).
    func position(of name: String, advance: Bool) -> Int? {
        let k = next
        let position: Int
        if k < names.count, names[k] == name {
            position = positions[k]
            if advance { next = k + 1 }
        } else if let slot = slots[name] {
            position = positions[slot]
            if advance { next = slot + 1 }
        } else {
            return row.columns.index[name]
        }
        return position < 0 ? nil : position
    }

    func isNull(_ name: String) -> Bool {
        guard let position = position(of: name, advance: false) else { return true }
        if case .null = row.values[position] { return true }
        return false
    }

    /// The value of column `name` as `T`, through `decode`; a column the result lacks reads
    /// as NULL where `T` takes one (an Optional) and throws otherwise.
    @inline(__always)
    func read<T>(_ name: String, _ decode: (SQLValue, String) throws -> T) throws -> T {
        guard let position = position(of: name, advance: true) else {
            guard let absent = try? decode(.null, name) else {
                throw StoreError(.database, "the result has no column \(name).")
            }
            return absent
        }
        return try decode(row.values[position], name)
    }

    func int64(_ name: String) throws -> Int64 { try read(name, Int64.decode) }
    func int(_ name: String) throws -> Int { try read(name, Int.decode) }
    func double(_ name: String) throws -> Double { try read(name, Double.decode) }
    func string(_ name: String) throws -> String { try read(name, String.decode) }
    func optionalInt64(_ name: String) throws -> Int64? { try read(name, Int64?.decode) }
    func optionalInt(_ name: String) throws -> Int? { try read(name, Int?.decode) }
    func optionalDouble(_ name: String) throws -> Double? { try read(name, Double?.decode) }
    func optionalString(_ name: String) throws -> String? { try read(name, String?.decode) }
}

/// How a property's type is read from a row, found once per type: the dynamic casts that
/// answer it cost more than the rest of decoding a run's column.
private enum PropertyKind {
    /// Stored in one column.
    case column(any SQLDecodable.Type)
    /// A record read from the same row by hand.
    case rowDecodable(any RowDecodable.Type)
    /// A record read from the same row through its declaration.
    case record

    private static let known = Mutex<[ObjectIdentifier: PropertyKind]>([:])

    static func of(_ type: Any.Type) -> PropertyKind {
        known.withLock { known in
            if let found = known[ObjectIdentifier(type)] { return found }
            let found: PropertyKind =
                if let column = type as? any SQLDecodable.Type { .column(column) }
                else if let record = type as? any RowDecodable.Type { .rowDecodable(record) }
                else { .record }
            known[ObjectIdentifier(type)] = found
            return found
        }
    }
}

/// A `T`, which is `R`, read from `row` by hand.
private func readRecord<R: RowDecodable, T>(_: R.Type, _ row: SQLRow, as _: T.Type) throws -> T {
    unsafeBitCast(try R(row: row), to: T.self)
}

/// `C.decode` as a `T`, which is `C` (`PropertyKind.of(T.self)` found it): without the
/// dynamic cast that `as! T` makes.
private func decodeColumn<C: SQLDecodable, T>(
    _: C.Type, _ value: SQLValue, _ name: String, as _: T.Type
) throws -> T {
    unsafeBitCast(try C.decode(value, column: name), to: T.self)
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let cursor: RowCursor

    init(_ row: SQLRow) {
        cursor = RowCursor(row, row.columns.layout(of: Key.self))
    }

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { cursor.row.columns.names.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { cursor.position(of: key.stringValue, advance: false) != nil }
    func decodeNil(forKey key: Key) throws -> Bool { cursor.isNull(key.stringValue) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try cursor.int64(key.stringValue) != 0
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try cursor.string(key.stringValue)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try cursor.double(key.stringValue)
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try cursor.double(key.stringValue))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try cursor.int(key.stringValue) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try cursor.int64(key.stringValue)
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try cursor.optionalString(key.stringValue)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try cursor.optionalDouble(key.stringValue)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try cursor.optionalInt(key.stringValue)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try cursor.optionalInt64(key.stringValue)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        switch PropertyKind.of(T.self) {
        case .column(let column):
            return try cursor.read(key.stringValue) { value, name in
                try decodeColumn(column, value, name, as: T.self)
            }
        case .rowDecodable(let record):
            _ = cursor.position(of: key.stringValue, advance: true)
            return try readRecord(record, cursor.row, as: T.self)
        case .record:
            _ = cursor.position(of: key.stringValue, advance: true)
            return try T(from: RowDecoder(row: cursor.row))
        }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard case .column(let column) = PropertyKind.of(T.self) else {
            return try decode(type, forKey: key)
        }
        return try cursor.read(key.stringValue) { value, name in
            if case .null = value { return nil }
            return try decodeColumn(column, value, name, as: T.self)
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

    func superDecoder() throws -> any Decoder { RowDecoder(row: cursor.row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: cursor.row) }
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
