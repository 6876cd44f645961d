/// `mnistlab sql` on SQLite: one statement, on its own read-only connection, with an
/// SQLite authorizer that refuses every kind of write before the statement runs.
import Foundation
import GRDB
import GRDBSQLite

/// Three layers: the connection is opened read-only (`SQLITE_OPEN_READONLY`), which stops
/// writes to the file but not ATTACH, CREATE TEMP or `PRAGMA writable_schema = 1`; an
/// authorizer refuses anything but reading while the statement compiles, which catches those
/// and names what was refused; `sqlite3_stmt_readonly` is the last check. Within `limits`: a
/// progress handler stops the statement once it has run its seconds (`.queryTooLong`), and
/// SQLITE_LIMIT_LENGTH bounds the values it makes (this connection is its own).
enum ReadOnlyStatement {
    static func run(_ sql: String, in db: Database, limits: StatementLimits) throws -> QueryResult {
        if let bytes = limits.valueBytes {
            sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_LENGTH, Int32(clamping: bytes))
        }
        let refusal = Refusal()
        let statement: Statement
        do {
            statement = try withAuthorizer(refusal, on: db) {
                let statements = try db.allStatements(sql: sql)
                guard let first = try statements.next() else {
                    throw StoreError(.invalidArgument, "there is no SQL statement to run.")
                }
                guard try statements.next() == nil else {
                    throw StoreError(
                        .invalidArgument, "the sql command runs one statement; found more than one.")
                }
                return first
            }
        } catch {
            if let refused = refusal.action { throw notAllowed(refused) }
            throw error
        }
        if let refused = refusal.action { throw notAllowed(refused) }
        guard sqlite3_stmt_readonly(statement.sqliteStatement) != 0 else {
            let verb = sql.split(whereSeparator: { $0.isWhitespace }).first ?? "this statement"
            throw notAllowed(verb.uppercased())
        }
        let rows: [Row]
        do {
            rows = try withDeadline(limits.seconds, on: db) { try Row.fetchAll(statement) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            throw limits.tooLong
        }
        return QueryResult(
            columns: statement.columnNames,
            rows: rows.map { row in row.databaseValues.map(SQLValue.init) })
    }

    private static func notAllowed(_ action: String) -> StoreError {
        StoreError(.notReadOnly, "the sql command is read-only: \(action) is not allowed.")
    }

    /// What the authorizer refused, for the error message. SQLite reports CREATE and DROP
    /// as a write to sqlite_schema first, and stops compiling at the first denial; so such a
    /// write is only noted, compilation goes on to the CREATE/DROP action, which is denied
    /// and names the refusal. The note alone still refuses the statement after compiling,
    /// except in a statement that reads a table-valued pragma function
    /// (`pragma_table_info('runs')`): SQLite reports the same write to sqlite_schema when it
    /// sets such a function up, and those functions exist only for pragmas without side
    /// effects. `sqlite3_stmt_readonly` and the read-only connection still stop any write.
    final class Refusal {
        private var statementAction: String?
        private var schemaTableAction: String?
        var readsPragmaFunction = false
        var action: String? {
            statementAction ?? (readsPragmaFunction ? nil : schemaTableAction)
        }

        /// Notes a refused action; returns what the authorizer answers SQLite.
        func record(_ action: String, table: String?) -> Int32 {
            if table?.hasPrefix("sqlite_") == true {
                schemaTableAction = schemaTableAction ?? action
                return SQLITE_OK
            }
            statementAction = statementAction ?? action
            return SQLITE_DENY
        }
    }

    /// Runs `body` with a progress handler that interrupts the statement once `seconds` have
    /// passed (checked every 10,000 virtual-machine steps, a fraction of a millisecond).
    private static func withDeadline<T>(
        _ seconds: Double, on db: Database, _ body: () throws -> T
    ) rethrows -> T {
        let deadline = Deadline(DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9))
        let context = Unmanaged.passUnretained(deadline).toOpaque()
        sqlite3_progress_handler(db.sqliteConnection, 10_000, pastDeadline, context)
        defer { sqlite3_progress_handler(db.sqliteConnection, 0, nil, nil) }
        return try withExtendedLifetime(deadline) { try body() }
    }

    final class Deadline {
        let uptimeNanoseconds: UInt64
        init(_ uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }
    }

    /// Compiles with an authorizer that allows only reading. It replaces GRDB's own, which
    /// is why `query` uses a connection of its own that is closed right after.
    private static func withAuthorizer<T>(
        _ refusal: Refusal, on db: Database, _ body: () throws -> T
    ) rethrows -> T {
        let context = Unmanaged.passUnretained(refusal).toOpaque()
        sqlite3_set_authorizer(db.sqliteConnection, readOnlyAuthorizer, context)
        defer { sqlite3_set_authorizer(db.sqliteConnection, nil, nil) }
        return try withExtendedLifetime(refusal) { try body() }
    }

    /// Nil when the action only reads; otherwise how to name it to the user.
    static func refusedAction(_ action: Int32, _ argument1: String?, _ argument2: String?) -> String? {
        switch action {
        case SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION, SQLITE_RECURSIVE:
            return nil
        case SQLITE_PRAGMA:
            let name = (argument1 ?? "").lowercased()
            guard let value = argument2 else {
                return pragmasWithEffects.contains(name) ? "PRAGMA \(name)" : nil
            }
            return pragmasTakingAName.contains(name) ? nil : "PRAGMA \(name) = \(value)"
        default:
            return actionNames[action] ?? "this statement"
        }
    }

    /// Pragmas that take a table, index or schema name as their argument and only read.
    private static let pragmasTakingAName: Set<String> = [
        "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    ]

    /// Pragmas that act even without an argument.
    private static let pragmasWithEffects: Set<String> = [
        "optimize", "wal_checkpoint", "incremental_vacuum", "shrink_memory",
    ]

    private static let actionNames: [Int32: String] = [
        SQLITE_COPY: "COPY",
        SQLITE_CREATE_INDEX: "CREATE INDEX", SQLITE_CREATE_TABLE: "CREATE TABLE",
        SQLITE_CREATE_TEMP_INDEX: "CREATE TEMP INDEX", SQLITE_CREATE_TEMP_TABLE: "CREATE TEMP TABLE",
        SQLITE_CREATE_TEMP_TRIGGER: "CREATE TEMP TRIGGER", SQLITE_CREATE_TEMP_VIEW: "CREATE TEMP VIEW",
        SQLITE_CREATE_TRIGGER: "CREATE TRIGGER", SQLITE_CREATE_VIEW: "CREATE VIEW",
        SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
        SQLITE_DELETE: "DELETE",
        SQLITE_DROP_INDEX: "DROP INDEX", SQLITE_DROP_TABLE: "DROP TABLE",
        SQLITE_DROP_TEMP_INDEX: "DROP TEMP INDEX", SQLITE_DROP_TEMP_TABLE: "DROP TEMP TABLE",
        SQLITE_DROP_TEMP_TRIGGER: "DROP TEMP TRIGGER", SQLITE_DROP_TEMP_VIEW: "DROP TEMP VIEW",
        SQLITE_DROP_TRIGGER: "DROP TRIGGER", SQLITE_DROP_VIEW: "DROP VIEW",
        SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
        SQLITE_INSERT: "INSERT", SQLITE_UPDATE: "UPDATE",
        SQLITE_TRANSACTION: "a transaction", SQLITE_SAVEPOINT: "SAVEPOINT",
        SQLITE_ATTACH: "ATTACH", SQLITE_DETACH: "DETACH",
        SQLITE_ALTER_TABLE: "ALTER TABLE", SQLITE_REINDEX: "REINDEX", SQLITE_ANALYZE: "ANALYZE",
    ]
}

/// The C callback: SQLITE_DENY for anything `refusedAction` names, remembering the first.
private let readOnlyAuthorizer: @convention(c) (
    UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
    UnsafePointer<CChar>?, UnsafePointer<CChar>?
) -> Int32 = { context, action, argument1, argument2, _, _ in
    guard let context else { return SQLITE_DENY }
    let refusal = Unmanaged<ReadOnlyStatement.Refusal>.fromOpaque(context).takeUnretainedValue()
    if action == SQLITE_READ, let table = argument1, String(cString: table).hasPrefix("pragma_") {
        refusal.readsPragmaFunction = true
    }
    let denied = ReadOnlyStatement.refusedAction(
        action, argument1.map { String(cString: $0) }, argument2.map { String(cString: $0) })
    guard let denied else { return SQLITE_OK }
    return refusal.record(denied, table: argument1.map { String(cString: $0) })
}

/// The progress handler's C callback: non-zero (interrupt) once the deadline has passed.
private let pastDeadline: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { context in
    guard let context else { return 1 }
    let deadline = Unmanaged<ReadOnlyStatement.Deadline>.fromOpaque(context).takeUnretainedValue()
    return DispatchTime.now().uptimeNanoseconds > deadline.uptimeNanoseconds ? 1 : 0
}
