/// `mnistlab sql` on PostgreSQL: one statement that can only read, whatever role the URL
/// logs in as.
///
/// Layers, each for what the others miss:
/// - the text: one statement, starting with a keyword that reads (SELECT, WITH, VALUES,
///   TABLE, SHOW, EXPLAIN without ANALYZE), naming none of the functions that change the
///   session's role or run SQL given as a string (which would step around the layers below);
/// - the transaction: READ ONLY, so the server refuses INSERT, UPDATE, DELETE, DDL,
///   nextval(), SELECT … FOR UPDATE and writes in a WITH; always rolled back; bounded by
///   statement and lock timeouts;
/// - the role: a read-only transaction still lets a superuser write server files
///   (COPY … TO, lo_export, pg_file_write) and signal other sessions, so a superuser's
///   statement runs as `pg_read_all_data` (PostgreSQL 14+), which reads every table and
///   view and holds none of those powers; so does that of a user holding one of the
///   server-file roles, and when it can't, its SQL is not run at all.
import Foundation

extension PostgresEngine {
    func query(_ sql: String, limits: StatementLimits) throws -> QueryResult {
        try attempt("Cannot run SQL on \(location)") {
            let statement = try PostgresReadOnlyGuard.statement(sql)
            let milliseconds = max(1, Int((limits.seconds * 1000).rounded(.up)))
            return try transaction("BEGIN READ ONLY", commits: false) { session in
                try session.run("SET LOCAL statement_timeout = \(milliseconds)")
                try session.run("SET LOCAL lock_timeout = \(milliseconds)")
                try PostgresReadOnlyGuard.dropPowers(session)
                do {
                    return try PostgresReadOnlyGuard.run(statement, session)
                } catch let error as StoreError {
                    throw PostgresReadOnlyGuard.refusal(error, state: session.failedState, limits: limits)
                }
            }
        }
    }
}

enum PostgresReadOnlyGuard {
    /// Statements that can only read, by their first keyword.
    static let readingKeywords: Set<String> = ["select", "with", "values", "table", "show", "explain"]

    /// Functions refused by name: they change the role (`set_config('role', …)`), run SQL
    /// given as text (`query_to_xml`, `ts_stat`, dblink), or take a session-level lock that
    /// would outlive the rolled-back transaction.
    static let refusedFunctions: Set<String> = [
        "set_config", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
        "cursor_to_xml", "cursor_to_xmlschema", "ts_stat", "pg_advisory_lock",
        "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared",
    ]

    /// The one statement in `sql`, or why it is refused.
    static func statement(_ sql: String) throws -> String {
        let statements = PostgresSQLText.statements(sql)
        guard let statement = statements.first else {
            throw StoreError(.invalidArgument, "there is no SQL statement to run.")
        }
        guard statements.count == 1 else {
            throw StoreError(.invalidArgument, "the sql command runs one statement; found more than one.")
        }
        let words = PostgresSQLText.words(statement)
        guard let first = words.first?.text, readingKeywords.contains(first) else {
            throw notAllowed(words.first?.text.uppercased() ?? "this statement")
        }
        if first == "explain" {
            // EXPLAIN [ANALYZE] [VERBOSE] or EXPLAIN (option …): ANALYZE runs the statement.
            let options: Set<String> = [
                "verbose", "costs", "settings", "buffers", "wal", "timing", "summary", "format",
                "generic_plan", "memory", "serialize", "true", "false", "on", "off", "text",
                "xml", "json", "yaml", "none",
            ]
            for word in words.dropFirst() {
                if word.text == "analyze" || word.text == "analyse" { throw notAllowed("EXPLAIN ANALYZE") }
                if !options.contains(word.text) { break }
            }
        }
        for word in words {
            if word.unicodeEscaped { throw notAllowed("a U&\"…\" name") }
            if refusedFunctions.contains(word.text) || word.text.hasPrefix("dblink") {
                throw notAllowed(word.text)
            }
        }
        return statement
    }

    /// Inside the read-only transaction: gives up the session user's powers over server
    /// files and other sessions for the rest of it (SET LOCAL ends with the transaction).
    static func dropPowers(_ session: PostgresSession) throws {
        let row = try session.fetch(
            """
            SELECT r.rolsuper AS superuser,
                to_regrole('pg_read_all_data') IS NOT NULL AS reader_exists,
                pg_has_role(session_user, 'pg_write_server_files', 'MEMBER')
                    OR pg_has_role(session_user, 'pg_read_server_files', 'MEMBER')
                    OR pg_has_role(session_user, 'pg_execute_server_program', 'MEMBER')
                    AS file_powers
            FROM pg_catalog.pg_roles r WHERE r.rolname = session_user
            """
        ).first
        let superuser = row?["superuser"] == .text("true")
        let filePowers = row?["file_powers"] == .text("true")
        guard superuser || filePowers else { return }
        let readerExists = row?["reader_exists"] == .text("true")
        let canRead: Bool
        if superuser || !readerExists {
            canRead = readerExists
        } else {
            canRead = try session.fetch(
                "SELECT pg_has_role(session_user, 'pg_read_all_data', 'MEMBER') AS member"
            ).first?["member"] == .text("true")
        }
        guard canRead else {
            let who = superuser ? "a superuser" : "a member of a role that may use server files"
            throw StoreError(
                .notReadOnly,
                "the sql command does not run statements as \(who) without the role "
                    + "pg_read_all_data (PostgreSQL 14 or newer) to run them as.")
        }
        try session.run("SET LOCAL ROLE pg_read_all_data")
    }

    /// Runs the statement; an empty result still names its columns.
    static func run(_ statement: String, _ session: PostgresSession) throws -> QueryResult {
        let result = try session.run(statement)
        return QueryResult(columns: result.columns, rows: result.rows)
    }

    /// The server's refusals in the words of SQLite's guard: "cannot execute DELETE in a
    /// read-only transaction" becomes "DELETE is not allowed".
    /// A statement stopped by `statement_timeout` (57014, query_canceled) is `.queryTooLong`.
    static func refusal(_ error: StoreError, state: String?, limits: StatementLimits) -> StoreError {
        switch state {
        case "57014":
            return limits.tooLong
        case "25006":
            let reason = error.reason
            if let start = reason.range(of: "cannot execute "),
                let end = reason.range(of: " in a read-only transaction")
            {
                let action = String(reason[start.upperBound..<end.lowerBound])
                // A data-modifying WITH is refused under the name of its outer SELECT.
                return notAllowed(action == "SELECT" ? "writing from within a SELECT (a WITH … DELETE, INSERT or UPDATE)" : action)
            }
            return StoreError(.notReadOnly, "the sql command is read-only: \(reason)")
        case "42501":
            return StoreError(.notReadOnly, "the sql command is read-only: \(error.reason)")
        default:
            return error
        }
    }

    static func notAllowed(_ action: String) -> StoreError {
        StoreError(.notReadOnly, "the sql command is read-only: \(action) is not allowed.")
    }
}
