import Foundation
import TestSupport
import Testing

/// libpq's ways of finding a password and a server, as `mnistlab` takes them from its
/// environment, the same as psql would.
@Suite(.enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct PostgresConnectionCLITests {
    /// The sandbox's URL without its password.
    private func withoutPassword(_ sandbox: Sandbox) throws -> String {
        let server = try PostgresServer.shared
        return sandbox.database.replacingOccurrences(of: ":\(server.password)@", with: "@")
    }

    /// `db migrate` then `runs`, with `environment`; both must succeed.
    private func expectConnects(_ sandbox: Sandbox, _ environment: [String: String]) throws {
        let password = try PostgresServer.shared.password
        for command in [["db", "migrate"], ["runs"]] {
            let output = try sandbox.run(command, environment: environment)
            #expect(output.status == 0, "\(command): \(output.stderr)")
            #expect(!output.stdout.contains(password) && !output.stderr.contains(password))
        }
    }

    @Test func passwordComesFromPGPASSWORD() throws {
        // Given
        let sandbox = try Sandbox(.postgres)
        let server = try PostgresServer.shared

        // When / Then
        try expectConnects(
            sandbox, ["MNISTLAB_DB": try withoutPassword(sandbox), "PGPASSWORD": server.password])
    }

    @Test func passwordComesFromPgpassInTheHomeDirectory() throws {
        // Given a ~/.pgpass (mode 0600) in a home of the test's own
        let sandbox = try Sandbox(.postgres)
        let server = try PostgresServer.shared
        let home = sandbox.directory.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let pgpass = home.appendingPathComponent(".pgpass").path
        try "127.0.0.1:\(server.port):*:\(server.user):\(server.password)\n"
            .write(toFile: pgpass, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pgpass)

        // When / Then
        try expectConnects(sandbox, ["MNISTLAB_DB": try withoutPassword(sandbox), "HOME": home.path])
    }

    @Test func serviceFileNamesTheServer() throws {
        // Given a service file that says where the sandbox's database is, password and all
        let sandbox = try Sandbox(.postgres)
        let server = try PostgresServer.shared
        let database = String(sandbox.database.split(separator: "/").last?.split(separator: "?").first ?? "")
        let services = sandbox.path("pg_service.conf")
        try """
            [lab]
            host=127.0.0.1
            port=\(server.port)
            dbname=\(database)
            user=\(server.user)
            password=\(server.password)
            sslmode=disable

            """.write(toFile: services, atomically: true, encoding: .utf8)

        // When / Then
        try expectConnects(
            sandbox, ["MNISTLAB_DB": "postgresql://?service=lab", "PGSERVICEFILE": services])
        let status = try sandbox.run(
            ["db", "status"],
            environment: ["MNISTLAB_DB": "postgresql://?service=lab", "PGSERVICEFILE": services])
        #expect(status.stdout.contains("postgresql://?service=lab"), "\(status.stdout)")
    }
}

/// A server that goes away under a trainer and stays away: the trainer says so at once, in
/// one line, and gives up within the reconnect window, as the README promises.
@Suite(.serialized, .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct PostgresOutageTests {
    @Test func trainerSaysItIsReconnectingAndStopsWithinTheWindow() throws {
        // Given a long run training on a server of this test's own
        let server = try PostgresServer.dedicated()
        let sandbox = try Sandbox(.postgres, server: server)
        let trainer = try Background(
            sandbox,
            ["train", "--epochs", "300", "--batch-size", "10", "--val-size", "200", "--keep-every", "5"],
            label: "trainer")
        defer { trainer.send(SIGKILL) }
        #expect(trainer.waitForLines("epoch ", count: 2), "\(trainer.stderr)")

        // When the server stops and does not come back
        try server.stop()
        let stopped = Date()
        let lineShown = trainer.wait { trainer.stderr.contains("reconnecting") }
        // A deadline, not a measurement: the old engine took 117 s.
        let ended = trainer.wait { Date().timeIntervalSince(stopped) > 75 }
        let ending = trainer.isRunning ? nil : trainer.wait()

        // Then it printed one line while reconnecting, and then one error, and stopped
        #expect(lineShown, "\(trainer.stderr)")
        #expect(!ended, "still running 75 s after the server stopped: \(trainer.stderr)")
        #expect(ending == .exit(1), "\(String(describing: ending)): \(trainer.stderr)")
        let lines = trainer.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(trainer.stderr)")
        #expect(lines.first?.hasPrefix("Lost the connection to postgres://mnistlab@127.0.0.1:") == true)
        #expect(lines.first?.hasSuffix("reconnecting for up to 30 s.") == true, "\(trainer.stderr)")
        #expect(lines.last?.hasPrefix("Error: ") == true, "\(trainer.stderr)")
        #expect(!trainer.stderr.contains(server.password))

        // And once the server is back, what was committed is there
        try server.start()
        let epochs = try sandbox.value("SELECT count(*) FROM epochs")
        #expect((Int(epochs ?? "") ?? 0) >= 2, "\(epochs ?? "none")")
    }
}
