import Foundation
import TestSupport
import Testing

/// libpq's ways of finding a password and a server, as `mnistlab` takes them from its
/// environment, the same as psql would.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
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
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized, .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
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

/// A server that lets a role in by client certificate alone (`hostssl … cert`, issue 24):
/// `mnistlab` reaches it with the certificate named in the URL or in libpq's `PGSSL*`
/// variables, and a key it can't use is one line saying what to do.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized, .enabled(if: postgresAvailable, "needs the test PostgreSQL server"))
struct ClientCertificateTests {
    /// A TLS server whose role `lab` logs in only with a certificate the test CA signed, a
    /// database `lab` owns, and the certificate and key (mode 0600) of `lab`.
    struct Setting {
        let server: PostgresServer
        let sandbox: Sandbox
        let certificates: TestCertificates
        let certificate: String
        let key: String
        /// `postgresql://lab@localhost:PORT/DB?sslmode=verify-full&sslrootcert=CA`.
        let url: String
    }

    func setting() throws -> Setting {
        let certificates = try TestCertificates(
            in: FileManager.default.temporaryDirectory.appendingPathComponent("mnistlab-cert-\(UUID().uuidString.prefix(8))"))
        let tls = try certificates.serverSettings(verifyingClients: true)
        let server = try PostgresServer.dedicated(
            settings: tls.settings, files: tls.files, hba: ["hostssl all lab 127.0.0.1/32 cert"])
        let sandbox = try Sandbox(.postgres, server: server)
        let database = String(sandbox.database.split(separator: "/").last?.split(separator: "?").first ?? "")
        try server.psql("CREATE ROLE lab LOGIN", database: "postgres")
        try server.psql("ALTER DATABASE \(database) OWNER TO lab", database: "postgres")
        let (certificate, key) = try certificates.client("lab")
        return Setting(
            server: server, sandbox: sandbox, certificates: certificates,
            certificate: certificate.path, key: key.path,
            url: "postgresql://lab@localhost:\(server.port)/\(database)?sslmode=verify-full&sslrootcert=\(certificates.caCertificate.path)")
    }

    /// Runs `mnistlab` with `url` and `environment` (no password anywhere: an empty
    /// PGPASSFILE).
    func run(_ s: Setting, _ arguments: [String], url: String, _ environment: [String: String] = [:]) throws -> Output {
        let noPasswords = s.sandbox.path("pgpass")
        if !FileManager.default.fileExists(atPath: noPasswords) {
            _ = FileManager.default.createFile(atPath: noPasswords, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        return try s.sandbox.run(arguments, environment: ["MNISTLAB_DB": url, "PGPASSFILE": noPasswords].merging(environment) { $1 })
    }

    @Test func aClientCertificateInTheURLOrInPGSSLCERTLogsIn() throws {
        // Given a server that takes `lab` by certificate only
        let s = try setting()

        // When the URL names the certificate and its key
        let trained = try run(s, ["train", "--epochs", "1", "--val-size", "200", "--batch-size", "50"], url: s.url + "&sslcert=\(s.certificate)&sslkey=\(s.key)")

        // Then mnistlab trains into the store, over TLS, as `lab`
        #expect(trained.status == 0, "\(trained.stderr)")
        let epochs = try s.server.psql("SELECT count(*) FROM epochs", database: databaseName(s))
        #expect(epochs.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(epochs)")

        // And libpq's variables do the same for a URL that names none of it
        let bare = "postgresql://lab@localhost:\(s.server.port)/\(databaseName(s))"
        let runs = try run(
            s, ["runs"], url: bare,
            ["PGSSLMODE": "verify-full", "PGSSLROOTCERT": s.certificates.caCertificate.path,
             "PGSSLCERT": s.certificate, "PGSSLKEY": s.key])
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(runs.stdout.contains("completed"), "\(runs.stdout)")

        // And without a certificate the server's refusal says what to give
        let none = try run(s, ["runs"], url: s.url, ["HOME": s.sandbox.directory.path])
        #expect(none.status == 1)
        #expect(none.stderr.hasPrefix("Error: Cannot open database at postgresql://lab@localhost:"), "\(none.stderr)")
        #expect(none.stderr.contains("only with a client certificate, and none was sent. Give the certificate and its key with ?sslcert=FILE&sslkey=FILE"), "\(none.stderr)")
        #expect(none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")
    }

    @Test func aClientKeyThatCannotBeUsedIsOneLineSayingWhatToDo() throws {
        // Given a server that takes `lab` by certificate only, and keys that won't do
        let s = try setting()
        let open = s.sandbox.path("open.key")
        try FileManager.default.copyItem(atPath: s.key, toPath: open)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: open)
        let junk = s.sandbox.path("junk.key")
        try "not a key\n".write(toFile: junk, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: junk)
        let cases: [(key: String, says: String)] = [
            (s.sandbox.path("none.key"), "the client certificate's key \(s.sandbox.path("none.key")) does not exist. Give the key's path with ?sslkey=FILE"),
            (open, "the client key \(open) may be read by other users (group or world permissions), and libpq refuses to use such a key. Make it readable by you alone: `chmod 600 \(open)`."),
            (junk, "the client key \(junk) can't be used: it is not a PEM private key this user can read"),
            (s.sandbox.directory.path, "the client key \(s.sandbox.directory.path) can't be used"),
        ]
        for (key, says) in cases {
            // When mnistlab is given it, in the URL and through PGSSLKEY
            for (url, environment) in [
                (s.url + "&sslcert=\(s.certificate)&sslkey=\(key)", [:]),
                (s.url, ["PGSSLCERT": s.certificate, "PGSSLKEY": key]),
            ] {
                let output = try run(s, ["runs"], url: url, environment)
                // Then one line says what is wrong with the key and what to do, exit 1
                #expect(output.status == 1, "\(key): \(output.stderr)")
                #expect(output.stderr.contains(says), "\(output.stderr)")
                #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
                #expect(!output.stderr.contains(s.server.password))
            }
        }
    }

    private func databaseName(_ s: Setting) -> String {
        String(s.sandbox.database.split(separator: "/").last?.split(separator: "?").first ?? "")
    }
}
