import Foundation
import Synchronization
import TestSupport
import Testing

/// The dashboard on a PostgreSQL store: each request reads on a connection of the reader's
/// pool, so a slow one holds only its page, and a server that is down is a 503 at once.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized, .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct ServePostgresTests {
    @Test func aQueryWaitingOnALockHoldsItsPageNotTheOthers() throws {
        // Given a served store, and a session of another client holding the evaluations table
        // (which a run page reads) locked for a while
        let server = try PostgresServer.shared
        let sandbox = try Sandbox(.postgres)
        let database = String(sandbox.database.split(separator: "/").last?.split(separator: "?").first ?? "")
        expectSuccess(try sandbox.train(["--epochs", "1"]))
        let dashboard = try RunningServer(sandbox)
        let holder = Thread {
            _ = try? server.psql(
                "BEGIN; LOCK TABLE evaluations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;",
                database: database)
        }
        holder.start()
        func waiting() throws -> Int {
            Int(try server.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event_type = 'Lock'",
                database: "postgres").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        #expect(try eventually(within: 10) {
            try server.psql(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '\(database)' AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.locktype = 'relation'",
                database: "postgres").hasPrefix("1")
        })

        // When two run pages wait on that lock
        let finished = Mutex<[Int]>([])
        let port = dashboard.port
        for _ in 0..<2 {
            Thread {
                let status = (try? HTTP.get(port, "/runs/1").status) ?? -1
                finished.withLock { $0.append(status) }
            }.start()
        }
        #expect(try eventually(within: 10) { try waiting() == 2 })

        // Then the runs list is answered meanwhile, before either run page
        let runs = try HTTP.get(dashboard.port, "/api/runs")
        #expect(runs.status == 200, "\(runs.text)")
        #expect(finished.withLock { $0 }.isEmpty)
        #expect(try waiting() == 2)
        // And the run pages are answered once the lock is released
        #expect(eventually(within: 30) { finished.withLock { $0.count } == 2 })
        #expect(finished.withLock { $0 } == [200, 200])
    }

    @Test func aServerThatIsDownIsA503AndServingGoesOnWhenItIsBack() throws {
        // Given a served store on a database server of this test's own
        let database = try PostgresServer.dedicated()
        let sandbox = try Sandbox(.postgres, server: database)
        expectSuccess(try sandbox.train(["--epochs", "1"]))
        let dashboard = try RunningServer(sandbox)
        #expect(try HTTP.get(dashboard.port, "/api/runs/1").status == 200)

        // When the database server stops
        try database.stop()

        // Then each request is refused with a 503 and the reason, without waiting out an outage
        for target in ["/api/runs/1", "/api/runs", "/runs/1"] {
            let down = try HTTP.get(dashboard.port, target)
            #expect(down.status == 503, "\(target): \(down.status) \(down.text)")
            #expect(!down.text.contains(database.password))
        }
        let body = try HTTP.get(dashboard.port, "/api/runs/1")
        let object = try #require(body.json as? [String: Any], "\(body.text)")
        #expect((object["error"] as? String)?.contains("Connection refused") == true, "\(body.text)")

        // And once it is back, the next request is answered
        try database.start()
        #expect(try HTTP.get(dashboard.port, "/api/runs/1").status == 200)
        #expect(dashboard.process.isRunning)
    }
}
