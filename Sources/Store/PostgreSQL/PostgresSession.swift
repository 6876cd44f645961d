/// One PostgreSQL connection inside a transaction, as the store's logic sees it: `?`/`?N`
/// placeholders, `SQLValue`s in and out.
import Foundation
import NIOCore
import PostgresNIO

/// Valid only inside the `PostgresEngine.read`/`write` call that made it.
final class PostgresSession: SQLConnection {
    let connection: PostgresConnection
    /// Set when a statement failed because the connection went away, whatever the body then
    /// made of the error: the engine retries the transaction on a new connection.
    private(set) var lostConnection = false
    /// The SQLSTATE of the last statement the server refused.
    private(set) var failedState: String?

    init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let result = try run(PostgresSQLText.numberedPlaceholders(sql), arguments)
        return result.metadata.rows ?? 0
    }

    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try run(PostgresSQLText.numberedPlaceholders(sql), arguments)
        return Self.rows(result.rows)
    }

    /// Runs a statement as written, `$N` placeholders and all (migrations, the engine's own).
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue] = []) throws -> PostgresQueryResult {
        do {
            return try PostgresBridge.run(connection, sql, arguments)
        } catch {
            if PostgresBridge.isConnectionLost(error) { lostConnection = true }
            failedState = PostgresBridge.sqlState(error)
            throw Self.storeError(error)
        }
    }

    /// The error as the store reports it: a lost connection as `.connection`, anything the
    /// server refused as `.database`, each with the server's one-line message.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        let reason = PostgresBridge.reason(error)
        if PostgresBridge.isConnectionLost(error) {
            return StoreError(.connectionLost, "the connection to the server was lost: \(reason).")
        }
        return StoreError(.database, reason + ".")
    }

    // MARK: - Values

    static func rows(_ rows: [PostgresRow]) -> [SQLRow] {
        guard let first = rows.first else { return [] }
        let columns = SQLColumns(first.map(\.columnName))
        return rows.map { row in SQLRow(columns: columns, values: values(row)) }
    }

    static func values(_ row: PostgresRow) -> [SQLValue] {
        var values: [SQLValue] = []
        values.reserveCapacity(row.count)
        for cell in row { values.append(value(cell)) }
        return values
    }

    /// A cell (postgres-nio asks for every column in binary) by its column's type. The
    /// integers, floats and texts every row has are read from their bytes as they are, not
    /// through postgres-nio's generic decoding, which was a third of the time to read a row.
    static func value(_ cell: PostgresCell) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        if cell.format == .binary, let value = plainValue(cell.dataType, bytes) { return value }
        switch cell.dataType {
        case .int2, .int4, .int8:
            return (try? cell.decode(Int64.self)).map(SQLValue.integer) ?? undecodable(cell)
        case .oid:
            return bytes.readInteger(as: UInt32.self).map { .integer(Int64($0)) } ?? undecodable(cell)
        case .float4, .float8:
            return (try? cell.decode(Double.self)).map(SQLValue.real) ?? undecodable(cell)
        case .numeric:
            guard let decimal = try? cell.decode(Decimal.self) else { return undecodable(cell) }
            // numeric's binary form opens with ndigits, weight, sign and dscale (Int16 each).
            // A scale of 0 is a whole number, as sum() of an integer column gives: an integer,
            // as SQLite's sum() is, rather than "100.0"; avg() and the like keep a scale.
            if bytes.getInteger(at: bytes.readerIndex + 6, as: Int16.self) == 0,
                let whole = Int64(decimal.description)
            {
                return .integer(whole)
            }
            return .real(NSDecimalNumber(decimal: decimal).doubleValue)
        case .bytea:
            return .blob(Array(bytes.readableBytesView))
        case .bool:
            return (try? cell.decode(Bool.self)).map { .text($0 ? "true" : "false") } ?? undecodable(cell)
        case .timestamptz, .timestamp, .date:
            guard let date = try? cell.decode(Date.self) else { return undecodable(cell) }
            return .text(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        case .text, .varchar, .name, .bpchar, .uuid, .json, .jsonb:
            return (try? cell.decode(String.self)).map(SQLValue.text) ?? undecodable(cell)
        default:
            // Types whose binary form is their text (enums, xml, citext…) read as text.
            let raw = Array(bytes.readableBytesView)
            guard let text = String(validating: raw, as: UTF8.self),
                !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
            else { return undecodable(cell) }
            return .text(text)
        }
    }

    /// An integer, float or text in its binary form, read as it is; nil for another type or
    /// a length that isn't the type's.
    private static func plainValue(_ type: PostgresDataType, _ cell: ByteBuffer) -> SQLValue? {
        var bytes = cell
        switch (type, bytes.readableBytes) {
        case (.int8, 8): return bytes.readInteger(as: Int64.self).map(SQLValue.integer)
        case (.int4, 4): return bytes.readInteger(as: Int32.self).map { .integer(Int64($0)) }
        case (.int2, 2): return bytes.readInteger(as: Int16.self).map { .integer(Int64($0)) }
        case (.float8, 8): return bytes.readInteger(as: UInt64.self).map { .real(Double(bitPattern: $0)) }
        case (.float4, 4): return bytes.readInteger(as: UInt32.self).map { .real(Double(Float(bitPattern: $0))) }
        case (.text, _), (.varchar, _), (.name, _), (.bpchar, _):
            return bytes.readString(length: bytes.readableBytes).map(SQLValue.text)
        default: return nil
        }
    }

    private static func undecodable(_ cell: PostgresCell) -> SQLValue {
        .text("<type \(cell.dataType.rawValue)>")
    }
}
