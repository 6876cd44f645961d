/// One PostgreSQL connection inside a transaction, as the store's logic sees it: `?`/`?N`
/// placeholders, `SQLValue`s in and out, `StoreError`s.
import Foundation

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
        try run(PostgresSQLText.numberedPlaceholders(sql), arguments).affected
    }

    func fetch(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try run(PostgresSQLText.numberedPlaceholders(sql), arguments)
        let columns = SQLColumns(result.columns)
        return result.rows.map { SQLRow(columns: columns, values: $0) }
    }

    /// Runs a statement as written, `$N` placeholders and all (migrations, the engine's own).
    /// The error is the store's: a lost connection as `.connectionLost`, anything the server
    /// refused as `.database`, each with the server's one-line message.
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue] = []) throws -> PostgresResult {
        do {
            return try connection.run(sql, arguments)
        } catch let failure as StatementFailure {
            failedState = failure.sqlState
            guard failure.lost else {
                throw StoreError(.database, sentence(failure.message))
            }
            lostConnection = true
            throw StoreError(
                .connectionLost,
                sentence("the connection to the server was lost: \(failure.message)"))
        }
    }

    /// Marks the connection lost without a statement (the server closed it between two);
    /// returns the error to throw.
    func lost() -> StoreError {
        lostConnection = true
        return StoreError(.connectionLost, "the server closed the connection.")
    }
}
