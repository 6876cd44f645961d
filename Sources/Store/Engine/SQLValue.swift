/// Values as the engines store them, and the result of one `mnistlab sql` statement.

/// A value bound to a statement or read from a result, on either engine.
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// How `sqlite3` prints it; a blob as its size.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): value
        case .blob(let bytes): "<blob \(bytes.count) bytes>"
        }
    }
}

/// The columns and rows of one statement.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[SQLValue]]
}
