import Foundation
import TestSupport
import Testing

@testable import Store

/// The public schema is the same on both engines: the same tables and views, each with the
/// same columns in the same order, so that scripts and `sql` queries work on either store.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .enabled(if: PostgresServer.isAvailable, "needs the test PostgreSQL server"))
struct SchemaParityTests {
    @Test func everyTableAndViewHasTheSameColumnsOnBothEngines() throws {
        // Given: a new store on each engine
        let directory = try TemporaryDirectory(.postgres)
        let sqlite = try Store.open(location: directory.path("lab.sqlite"))
        let postgres = try Store.open(location: try directory.location("lab"))

        // When: their tables and views, with their columns in order
        let onSQLite = try sqlite.read { db in
            try db.fetch(
                """
                SELECT m.name AS relation, p.name AS column_name
                FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
                WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'
                ORDER BY m.name, p.cid
                """)
        }
        let onPostgres = try postgres.read { db in
            try db.fetch(
                """
                SELECT table_name AS relation, column_name FROM information_schema.columns
                WHERE table_schema = current_schema()
                ORDER BY table_name COLLATE "C", ordinal_position
                """)
        }
        let columns = { (rows: [SQLRow]) in
            try rows.map { "\(try $0.get("relation") as String).\(try $0.get("column_name") as String)" }
        }

        // Then: the same, and none is missing from either (run_summary's 51 columns included)
        #expect(try columns(onSQLite) == columns(onPostgres))
        #expect(try columns(onSQLite).filter { $0.hasPrefix("run_summary.") }.count == 51)
    }
}
