import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Store

/// A two-file schema for the engine's own tests, independent of the store's migrations.
private let testMigrations = [
    Migration(
        1, "0001_init",
        Array(
            """
            -- 0001_init: the log and one table; a semicolon in a comment;
            CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                applied_at text NOT NULL);
            CREATE TABLE items (id bigint PRIMARY KEY, label text DEFAULT 'a;b', weight float8,
                bytes bytea, amount numeric);
            """.utf8)),
    Migration(2, "0002_more", Array("CREATE SEQUENCE counter; CREATE VIEW item_view AS SELECT * FROM items;".utf8)),
]

private func openEngine(
    _ url: String, readOnly: Bool = false, allowOlderSchema: Bool = false,
    migrations: [Migration] = testMigrations
) throws -> PostgresEngine {
    try PostgresEngine.open(
        url: url, readOnly: readOnly, allowOlderSchema: allowOlderSchema, migrations: migrations)
}

/// Counts one more run of a transaction body in `runs`; returns which run this is, from 1.
private func nextAttempt(_ runs: borrowing Mutex<Int>) -> Int {
    runs.withLock { count in
        count += 1
        return count
    }
}

// A server that can't start fails these under CI (isAvailable is then true); elsewhere the
// suite is skipped, and the reason is printed.
// Serialized: the restart tests cut every session of the shared server.
@Suite(
    .blocksItsThread, .timeLimit(.minutes(10)),
    .serialized,
    .enabled(if: PostgresServer.isAvailable, Comment(rawValue: PostgresServer.unavailableReason)))
struct PostgresEngineTests {
    // MARK: - Connecting

    @Test func wrongPasswordIsOneLineConnectionError() throws {
        // Given
        let server = try PostgresServer.shared
        let url = "postgres://mnistlab:not-the-password@127.0.0.1:\(server.port)/postgres?sslmode=disable"

        // When
        let error = #expect(throws: StoreError.self) { try openEngine(url) }

        // Then
        #expect(error?.kind == .connection)
        #expect(error?.description.contains("password authentication failed") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("not-the-password") == false)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func missingDatabaseIsConnectionError() throws {
        // Given
        let server = try PostgresServer.shared

        // When
        let error = #expect(throws: StoreError.self) { try openEngine(server.url(database: "no_such_db")) }

        // Then
        #expect(error?.kind == .connection)
        #expect(error?.description.contains("no_such_db") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains(server.password) == false)
    }

    @Test func refusedPortIsConnectionError() throws {
        // Given: a port nothing listens on (the server's plus one is free in practice)
        let server = try PostgresServer.shared
        let url = "postgres://mnistlab:secret@127.0.0.1:\(server.port + 1)/x?sslmode=disable"

        // When
        let error = #expect(throws: StoreError.self) { try openEngine(url) }

        // Then
        #expect(error?.kind == .connection)
        #expect(error?.description.contains("Connection refused") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("secret") == false)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func preferFallsBackToPlainWhenTheServerHasNoTLS() throws {
        // Given: the test server has ssl off
        let server = try PostgresServer.shared
        let plain = try server.createDatabase()

        // When
        let prefer = try openEngine(plain.replacingOccurrences(of: "sslmode=disable", with: "sslmode=prefer"))
        let require = #expect(throws: StoreError.self) {
            try openEngine(plain.replacingOccurrences(of: "sslmode=disable", with: "sslmode=require"))
        }

        // Then
        #expect(try prefer.appliedMigrations().count == 2)
        #expect(require?.kind == .tls)
        #expect(require?.description.contains("server does not support SSL, but SSL was required") == true, "\(require?.description ?? "")")
    }

    // MARK: - Migrating

    @Test func newDatabaseIsMigratedAndRecorded() throws {
        // Given
        let url = try PostgresServer.shared.createDatabase()

        // When
        let engine = try openEngine(url)

        // Then
        let applied = try engine.appliedMigrations()
        #expect(applied.map(\.version) == [1, 2])
        #expect(applied.map(\.name) == ["0001_init", "0002_more"])
        #expect(applied.allSatisfy { $0.appliedAt.count == 24 && $0.appliedAt.hasSuffix("Z") })
        #expect(engine.knownSchemaVersion == 2)
        #expect(engine.location.contains("mnistlab@127.0.0.1"))
        #expect(try engine.sizeBytes() > 0)
    }

    @Test func fourThreadsMigratingOneNewDatabaseAllSucceed() throws {
        // Given
        let url = try PostgresServer.shared.createDatabase()
        let failures = Mutex<[String]>([])

        // When
        let threads = (0..<4).map { _ in
            Thread {
                do { _ = try openEngine(url) } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        threads.forEach { $0.start() }
        try #require(eventually(within: 120, every: 0.01) { threads.allSatisfy(\.isFinished) }, "the threads never ended")

        // Then: one log, each migration once
        #expect(failures.withLock { $0 } == [])
        #expect(try openEngine(url).appliedMigrations().map(\.version) == [1, 2])
    }

    @Test func reopeningAppliesOnlyWhatIsNew() throws {
        // Given: a database at 0001
        let url = try PostgresServer.shared.createDatabase()
        let first = try openEngine(url, migrations: Array(testMigrations.prefix(1))).appliedMigrations()

        // When
        let second = try openEngine(url).appliedMigrations()

        // Then
        #expect(second.first == first.first)
        #expect(second.map(\.version) == [1, 2])
    }

    @Test func newerSchemaIsRefused() throws {
        // Given: a database this list's first file only knows part of
        let url = try PostgresServer.shared.createDatabase()
        _ = try openEngine(url)

        // When
        let error = #expect(throws: StoreError.self) {
            try openEngine(url, migrations: Array(testMigrations.prefix(1)))
        }
        let readOnly = #expect(throws: StoreError.self) {
            try openEngine(url, readOnly: true, migrations: Array(testMigrations.prefix(1)))
        }

        // Then
        #expect(error?.kind == .newerSchema(found: 2, known: 1))
        #expect(readOnly?.kind == .newerSchema(found: 2, known: 1))
    }

    @Test func databaseOfAnotherApplicationIsRefused() throws {
        // Given
        let server = try PostgresServer.shared
        let url = try server.createDatabase()
        let name = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
        try server.psql("CREATE TABLE customers (id int)", database: name)

        // When
        let error = #expect(throws: StoreError.self) { try openEngine(url) }

        // Then: nothing was created
        #expect(error?.kind == .notOurDatabase)
        #expect(error?.description.contains("another application") == true)
        #expect(try server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: name) == "1\n")
    }

    @Test func readOnlyOpenCreatesNothingAndRefusesOlderSchema() throws {
        // Given
        let url = try PostgresServer.shared.createDatabase()

        // When
        let empty = #expect(throws: StoreError.self) { try openEngine(url, readOnly: true) }
        _ = try openEngine(url, migrations: Array(testMigrations.prefix(1)))
        let older = #expect(throws: StoreError.self) { try openEngine(url, readOnly: true) }
        let allowed = try openEngine(url, readOnly: true, allowOlderSchema: true)

        // Then
        #expect(empty?.kind == .missing)
        #expect(older?.kind == .olderSchema(found: 1, known: 2))
        #expect(try allowed.appliedMigrations().map(\.version) == [1])
        #expect(throws: StoreError.self) { try allowed.write { db in try db.execute("SELECT 1") } }
    }

    @Test func storeMigrationsApplyToANewDatabase() throws {
        // Given
        let url = try PostgresServer.shared.createDatabase()

        // When
        let engine = try PostgresEngine.open(url: url, readOnly: false, allowOlderSchema: false)
        let reader = try PostgresEngine.open(url: url, readOnly: true, allowOlderSchema: false)

        // Then
        #expect(try engine.appliedMigrations().map(\.name) == PostgresMigrations.all.map(\.name))
        #expect(try reader.query("SELECT count(*) AS n FROM run_summary", limits: .terminal).rows == [[.integer(0)]])
    }

    // MARK: - Reading and writing

    @Test func valuesRoundTripWithTheirTypes() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())

        // When
        let inserted = try engine.write { db in
            try db.execute(
                "INSERT INTO items (id, label, weight, bytes, amount) VALUES (?, ?, ?, ?, 1.5), (8, NULL, NULL, NULL, NULL)",
                [.integer(7), .text("it's ?"), .real(0.25), .blob([0, 1, 255])])
        }
        let rows = try engine.read { db in try db.fetch(
                """
                SELECT *, true AS yes, 'x'::name AS n, (-2)::int2 AS small, 70000::int4 AS medium,
                       0.5::float4 AS half, 'v'::varchar AS v, 'c'::char(2) AS c, 42::oid AS o
                FROM items ORDER BY id
                """)
        }

        // Then
        #expect(inserted == 2)
        #expect(rows.count == 2)
        #expect(rows[0]["id"] == .integer(7))
        #expect(rows[0]["label"] == .text("it's ?"))
        #expect(rows[0]["weight"] == .real(0.25))
        #expect(rows[0]["bytes"] == .blob([0, 1, 255]))
        #expect(rows[0]["amount"] == .real(1.5))
        #expect(rows[0]["yes"] == .text("true"))
        #expect(rows[0]["n"] == .text("x"))
        #expect(rows[0]["small"] == .integer(-2) && rows[0]["medium"] == .integer(70000))
        #expect(rows[0]["half"] == .real(0.5) && rows[0]["o"] == .integer(42))
        #expect(rows[0]["v"] == .text("v") && rows[0]["c"] == .text("c "))
        #expect(rows[1]["label"] == .null)
        #expect(rows[1]["id"] == .integer(8))
    }

    @Test func thousandRowsDecodeInOrder() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())
        _ = try engine.write { db in
            try db.execute("INSERT INTO items (id, weight) SELECT g, g / 3.0 FROM generate_series(1, 1000) g")
        }

        // When
        let rows = try engine.read { db in try db.fetch("SELECT * FROM items ORDER BY id") }

        // Then
        #expect(rows.count == 1000)
        #expect(try rows.map { try $0.get("id") as Int64 } == Array(1...1000))
        #expect(try rows[999].get("weight") as Double == 1000 / 3.0)
    }

    @Test func throwingBodyRollsBack() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())
        struct Stop: Error {}

        // When
        #expect(throws: Stop.self) {
            try engine.write { db in
                try db.execute("INSERT INTO items (id) VALUES (1)")
                throw Stop()
            }
        }
        let failedStatement = #expect(throws: StoreError.self) {
            try engine.write { db in
                try db.execute("INSERT INTO items (id) VALUES (2)")
                try db.execute("INSERT INTO items (id) VALUES (2)")
            }
        }

        // Then: nothing of either, and the connection still works
        #expect(failedStatement?.kind == .database)
        #expect(failedStatement?.description.contains("duplicate key") == true)
        #expect(try engine.read { db in try db.fetch("SELECT id FROM items") }.isEmpty)
    }

    @Test func readSeesOneSnapshot() throws {
        // Given
        let url = try PostgresServer.shared.createDatabase()
        let engine = try openEngine(url)
        let other = try openEngine(url)

        // When: another session commits between the read's two statements
        let (before, after) = try engine.read { db in
            let before = try db.fetch("SELECT count(*) AS n FROM items")[0]["n"]
            _ = try other.write { db in try db.execute("INSERT INTO items (id) VALUES (1)") }
            return (before, try db.fetch("SELECT count(*) AS n FROM items")[0]["n"])
        }

        // Then
        #expect(before == .integer(0))
        #expect(after == .integer(0))
        #expect(throws: StoreError.self) { try engine.read { db in try db.execute("INSERT INTO items (id) VALUES (5)") } }
    }

    @Test func lockSerializesWriters() throws {
        // Given: two engines choosing the next id as max + 1 under the lock
        let url = try PostgresServer.shared.createDatabase()
        let engines = try (0..<2).map { _ in try openEngine(url) }
        let failures = Mutex<[String]>([])

        // When
        let threads = engines.map { engine in
            Thread {
                do {
                    for _ in 0..<20 {
                        try engine.write { db in
                            try engine.lock("items", db)
                            try db.execute("INSERT INTO items (id) SELECT coalesce(max(id), 0) + 1 FROM items")
                        }
                    }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        threads.forEach { $0.start() }
        try #require(eventually(within: 120, every: 0.01) { threads.allSatisfy(\.isFinished) }, "the threads never ended")

        // Then
        #expect(failures.withLock { $0 } == [])
        #expect(try engines[0].read { db in try db.fetch("SELECT count(*) AS n FROM items") }[0]["n"] == .integer(40))
        #expect(PostgresEngine.lockKey("runs") == PostgresEngine.lockKey("runs"))
        #expect(PostgresEngine.lockKey("runs") != PostgresEngine.lockKey("trials"))
    }

    @Test func deadlockVictimRunsAgainRatherThanFailing() throws {
        // Given two engines, each to take a lock of its own and then the other's
        let url = try PostgresServer.shared.createDatabase()
        let engines = try (0..<2).map { _ in try openEngine(url) }
        let holds = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let runs = Mutex(0)
        let failures = Mutex<[String]>([])

        // When, on their first runs, each asks for the other's lock once both hold their own:
        // a deadlock, which the server breaks by failing one of the two transactions
        let threads = (0..<2).map { me in
            Thread {
                do {
                    try engines[me].write { db in
                        let attempt = nextAttempt(runs)
                        try engines[me].lock("resource \(me)", db)
                        if attempt <= 2 {
                            holds[me].signal()
                            _ = holds[1 - me].wait(timeout: .now() + 30)
                        }
                        try engines[me].lock("resource \(1 - me)", db)
                        try db.execute("INSERT INTO items (id) SELECT coalesce(max(id), 0) + 1 FROM items")
                    }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        threads.forEach { $0.start() }
        #expect(eventually(within: 60) { threads.allSatisfy(\.isFinished) })

        // Then the failed one ran again, once the other had committed, and both wrote
        #expect(failures.withLock { $0 } == [])
        #expect(runs.withLock { $0 } == 3)
        #expect(try engines[0].read { db in try db.fetch("SELECT count(*) AS n FROM items") }[0]["n"] == .integer(2))
    }

    @Test func dialectFragmentsRunOnTheServer() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())
        let dialect = engine.dialect

        // When
        let row = try engine.read { db in
            try db.fetch("SELECT \(dialect.now) AS now, \(dialect.expiry(1.5)) AS later")[0]
        }
        let now: String = try row.get("now")
        let later: String = try row.get("later")

        // Then
        #expect(now.count == 24 && now.hasSuffix("Z"))
        #expect(later > now)
        #expect(dialect.skipLocked == "FOR UPDATE OF t SKIP LOCKED")
        try engine.write { db in
            _ = try db.fetch(
                "SELECT t.id FROM items AS t LEFT JOIN items AS r ON r.id = t.id + 1 ORDER BY t.id LIMIT 1 \(dialect.skipLocked)")
        }
    }

    @Test func vacuumRuns() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())

        // When / Then
        try engine.vacuum()
        try engine.close()
        #expect(throws: StoreError.self) { try engine.read { db in try db.fetch("SELECT 1") } }
    }

    @Test func vacuumWaitsForNoSessionOutsideTheStore() throws {
        // Given a transaction of another session that read a shared catalog and stays open,
        // on a server of its own: a bare VACUUM FULL, run as this superuser, waits for that
        // catalog's lock and meanwhile holds off every new connection to the server
        let server = try PostgresServer.dedicated()
        let engine = try openEngine(try server.createDatabase())
        let open = try OpenTransaction(on: try openEngine(try server.createDatabase()), reading: "pg_database")
        defer { open.end() }

        // When the store is vacuumed
        try engine.vacuum()

        // Then it did not wait for that session: the store's own tables were all it touched
        #expect(open.isOpen, "VACUUM waited for a session that only read pg_database")
    }

    @Test func vacuumGivesUpOnATableAnotherSessionHolds() throws {
        // Given another session's transaction that read the store's table and stays open
        let url = try PostgresServer.shared.createDatabase()
        let engine = try openEngine(url)
        let open = try OpenTransaction(on: try openEngine(url), reading: "items")
        defer { open.end() }

        // When the store is vacuumed
        let error = #expect(throws: StoreError.self) { try engine.vacuum() }

        // Then it gave up waiting while the session still held the table, saying why in one
        // line; once the session ends, it vacuums
        #expect(open.isOpen)
        #expect(
            error?.reason
                == "another session held a lock on one of its tables for more than 10 s (a transaction left open, in psql for instance); nothing was lost: try again once it ends.",
            "\(error?.description ?? "")")
        open.end()
        try engine.vacuum()
        #expect(try engine.read { db in try db.fetch("SELECT count(*) AS n FROM items") }.count == 1)
    }

    // MARK: - sql's guard

    @Test func plainSelectRuns() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())
        _ = try engine.write { db in try db.execute("INSERT INTO items (id, label) VALUES (1, 'one')") }

        // When
        let result = try engine.query("SELECT id, label FROM items;", limits: .terminal)
        let empty = try engine.query("SELECT id, label AS name FROM items WHERE id < 0", limits: .terminal)
        let show = try engine.query("SHOW statement_timeout", limits: .terminal)

        // Then
        #expect(result == QueryResult(columns: ["id", "label"], rows: [[.integer(1), .text("one")]]))
        #expect(empty == QueryResult(columns: ["id", "name"], rows: []))
        #expect(show.rows == [[.text("30s")]])
    }

    @Test(arguments: [
        ("COPY items TO '/tmp/mnistlab-copy-test'", "COPY is not allowed"),
        ("INSERT INTO items (id) VALUES (9)", "INSERT is not allowed"),
        ("UPDATE items SET label = 'x'", "UPDATE is not allowed"),
        ("DELETE FROM items", "DELETE is not allowed"),
        ("CREATE TABLE t (a int)", "CREATE is not allowed"),
        ("WITH x AS (DELETE FROM items RETURNING id) SELECT * FROM x", "is not allowed"),
        ("SELECT nextval('counter')", "read-only"),
        ("SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/mnistlab-lo-test')", "read-only"),
        ("SELECT pg_terminate_backend(pg_backend_pid())", "read-only"),
        ("SELECT pg_reload_conf()", "read-only"),
        ("SELECT set_config('role', 'mnistlab', true)", "set_config is not allowed"),
        ("SELECT query_to_xml('select 1', true, false, '')", "query_to_xml is not allowed"),
        ("EXPLAIN ANALYZE DELETE FROM items", "EXPLAIN ANALYZE is not allowed"),
        ("EXPLAIN (VERBOSE, ANALYZE) SELECT 1", "EXPLAIN ANALYZE is not allowed"),
        ("SELECT * FROM items FOR UPDATE", "SELECT FOR UPDATE is not allowed"),
    ])
    func writingStatementIsRefused(sql: String, reason: String) throws {
        // Given: the test server's user is a superuser
        let engine = try openEngine(try PostgresServer.shared.createDatabase())
        _ = try engine.write { db in try db.execute("INSERT INTO items (id) VALUES (1)") }

        // When
        let error = #expect(throws: StoreError.self) { try engine.query(sql, limits: .terminal) }

        // Then: refused in one line, nothing changed, no file written
        #expect(error?.kind == .notReadOnly, "\(error?.description ?? "")")
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("\n") == false)
        #expect(try engine.read { db in try db.fetch("SELECT id, label FROM items") }.map(\.values) == [[.integer(1), .text("a;b")]])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/mnistlab-copy-test"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/mnistlab-lo-test"))
        #expect(try engine.query("SELECT 1 AS one", limits: .terminal).rows == [[.integer(1)]])
    }

    @Test func twoStatementsOrNoneAreRefused() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())

        // When
        let two = #expect(throws: StoreError.self) { try engine.query("SELECT 1; SELECT 2", limits: .terminal) }
        let none = #expect(throws: StoreError.self) { try engine.query(" -- nothing\n ; ", limits: .terminal) }

        // Then
        #expect(two?.kind == .invalidArgument)
        #expect(none?.kind == .invalidArgument)
    }

    @Test func longStatementIsStoppedByTheTimeout() throws {
        // Given
        let engine = try openEngine(try PostgresServer.shared.createDatabase())

        // When
        let error = #expect(throws: StoreError.self) {
            try engine.query("SELECT pg_sleep(60)", limits: StatementLimits(seconds: 0.3))
        }

        // Then: the server's own timeout ended it, not the sleep, in the words SQLite's use
        #expect(error?.kind == .queryTooLong(seconds: 0.3), "\(error?.description ?? "")")
        #expect(error?.description.hasSuffix("the statement ran for more than 0.3 s and was stopped.") == true, "\(error?.description ?? "")")
        #expect(try engine.query("SELECT 2 AS two", limits: StatementLimits(seconds: 1)).rows == [[.integer(2)]])
    }

    // MARK: - Lost connections

    @Test func writeAfterRestartReconnects() throws {
        // Given
        // A server of its own: restarting the shared one would cut off the tests running beside.
        let server = try PostgresServer.dedicated()
        let engine = try openEngine(try server.createDatabase())
        _ = try engine.write { db in try db.execute("INSERT INTO items (id) VALUES (1)") }

        // When
        try server.restart()
        _ = try engine.write { db in try db.execute("INSERT INTO items (id) VALUES (2)") }

        // Then
        #expect(try engine.read { db in try db.fetch("SELECT id FROM items ORDER BY id") }.map(\.values) == [[.integer(1)], [.integer(2)]])
    }

    @Test func writeInterruptedByRestartIsRetriedWhole() throws {
        // Given
        // A server of its own: restarting the shared one would cut off the tests running beside.
        let server = try PostgresServer.dedicated()
        let engine = try openEngine(try server.createDatabase())
        let runs = Mutex(0)

        // When: the server restarts between the body's two statements, the first time
        var restartError: (any Error)?
        try engine.write { db in
            let attempt = nextAttempt(runs)
            try db.execute("INSERT INTO items (id) VALUES (1)")
            if attempt == 1 {
                do { try server.restart() } catch { restartError = error }
            }
            try db.execute("INSERT INTO items (id) VALUES (2)")
        }

        // Then: run again from the start, applied once
        #expect(restartError == nil)
        #expect(runs.withLock { $0 } == 2)
        #expect(try engine.read { db in try db.fetch("SELECT id FROM items ORDER BY id") }.map(\.values) == [[.integer(1)], [.integer(2)]])
    }

    @Test func sessionLeftIdleInATransactionIsEndedAndItsBodyRunAgain() throws {
        // Given an engine whose session the server ends after 0.5 s idle in a transaction,
        // and a row it updates
        let url = try PostgresServer.shared.createDatabase()
        let stalled = try PostgresEngine.open(
            url: url, readOnly: false, allowOlderSchema: false, migrations: testMigrations,
            idleTransactionTimeout: 0.5)
        let other = try openEngine(url)
        _ = try other.write { db in try db.execute("INSERT INTO items (id, weight) VALUES (1, 0)") }
        let runs = Mutex(0)
        let otherFinished = Mutex<Date?>(nil)

        // When it stops inside its first attempt, holding the row's lock, while the other
        // engine waits to update that row, until that update has gone through (60 s at most)
        var bodyEnded: Date?
        try stalled.write { db in
            let attempt = nextAttempt(runs)
            try db.execute("UPDATE items SET weight = weight + 1 WHERE id = 1")
            if attempt == 1 {
                Thread {
                    _ = try? other.write { db in try db.execute("UPDATE items SET weight = weight + 10 WHERE id = 1") }
                    otherFinished.withLock { $0 = Date() }
                }.start()
                _ = eventually(within: 60) { otherFinished.withLock { $0 } != nil }
            }
            try db.execute("UPDATE items SET label = 'done' WHERE id = 1")
            bodyEnded = Date()
        }
        _ = eventually(within: 6) { otherFinished.withLock { $0 } != nil }

        // Then the server ended the stalled session, so the other writer went ahead before
        // it woke; the stalled body ran again from the start, and each update counts once
        #expect(runs.withLock { $0 } == 2)
        let finished = try #require(otherFinished.withLock { $0 })
        #expect(finished < (try #require(bodyEnded)))
        #expect(
            try other.read { db in try db.fetch("SELECT weight, label FROM items") }.map(\.values)
                == [[.real(11), .text("done")]])
    }
}

/// A read transaction of another session that read `table` and stays open on a thread of its
/// own until `end()`, 60 s at the most (so that a test whose statement does wait for it still
/// ends).
private final class OpenTransaction {
    private final class State: Sendable {
        let value = Mutex((open: false, ending: false))
    }

    private struct NeverOpened: Error {}

    private let state: State
    private let thread: Thread

    init(on engine: PostgresEngine, reading table: String) throws {
        let state = State()
        self.state = state
        thread = Thread {
            _ = try? engine.read { db in
                _ = try db.fetch("SELECT count(*) FROM \(table)")
                state.value.withLock { $0.open = true }
                let deadline = Date().addingTimeInterval(60)
                while !state.value.withLock({ $0.ending }) && Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
            state.value.withLock { $0.open = false }
        }
        thread.start()
        guard eventually(within: 30, { state.value.withLock { $0.open } }) else { throw NeverOpened() }
    }

    /// Whether the transaction is still open.
    var isOpen: Bool { state.value.withLock { $0.open } }

    /// Ends the transaction and waits for its thread.
    func end() {
        state.value.withLock { $0.ending = true }
        #expect(eventually(within: 60, every: 0.01) { thread.isFinished }, "the open transaction's thread never ended")
    }
}
