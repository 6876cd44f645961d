import Foundation
import TestSupport
import Testing

@testable import Store

/// The ways psql's users reach a server, through libpq, each against a real server: the
/// socket with peer authentication, a password file, TLS checked against a CA, and a second
/// host when the first is down.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .enabled(if: PostgresServer.isAvailable, Comment(rawValue: PostgresServer.unavailableReason)))
struct PostgresConnectionFormsTests {
    /// A temporary directory of the test's own.
    private func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnistlab-forms-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The database name of a URL made by `PostgresServer.createDatabase`.
    private func databaseName(_ url: String) -> String {
        String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
    }

    /// A password file holding `server`'s password for its port, mode 0600.
    private func passwordFile(_ servers: [PostgresServer], in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("pgpass").path
        let lines = servers.map { "*:\($0.port):*:\($0.user):\($0.password)\n" }.joined()
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return path
    }

    @Test func peerAuthenticationOverTheSocketNeedsNoPassword() throws {
        // Given a role named like the OS user, owning a database, as Debian sets it up
        let server = try PostgresServer.shared
        let osUser = String(cString: getpwuid(geteuid()).pointee.pw_name)
        try server.psql(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(osUser)') THEN "
                + "CREATE ROLE \"\(osUser)\" LOGIN; END IF; END $$", database: "postgres")
        let database = "peer_" + UUID().uuidString.prefix(8).lowercased()
        try server.psql("CREATE DATABASE \(database) OWNER \"\(osUser)\"", database: "postgres")
        let socket = server.socketDirectory.replacingOccurrences(of: "/", with: "%2F")

        // When the URL names only the socket's directory, the port and the database
        let store = try Store.open(location: "postgresql://\(socket):\(server.port)/\(database)")

        // Then it connects as the OS user and creates the schema
        #expect(store.isServer)
        #expect(try store.engine.appliedMigrations().count == PostgresMigrations.all.count)
        let user = try store.engine.read { db in try db.scalar("SELECT current_user", as: String.self) }
        #expect(user == osUser)
    }

    @Test func passwordComesFromThePasswordFile() throws {
        // Given a URL without a password, and a password file (mode 0600) that has it
        let server = try PostgresServer.shared
        let database = databaseName(try server.createDatabase())
        let file = try passwordFile([server], in: try scratch())

        // When
        let store = try Store.open(
            location: "postgresql://mnistlab@127.0.0.1:\(server.port)/\(database)?sslmode=disable&passfile=\(file)")

        // Then
        #expect(try store.engine.appliedMigrations().count == PostgresMigrations.all.count)
        #expect(!store.location.contains(server.password))
    }

    @Test func tlsIsCheckedAgainstTheCAAndTheHostName() throws {
        // Given a server whose certificate, for `localhost` only, a test CA signed
        let directory = try scratch()
        let certificates = try TestCertificates(in: directory)
        let tls = try certificates.serverSettings()
        let server = try PostgresServer.dedicated(settings: tls.settings, files: tls.files)
        let database = databaseName(try server.createDatabase())
        let file = try passwordFile([server], in: directory)
        func url(host: String, _ parameters: String) -> String {
            "postgresql://mnistlab@\(host):\(server.port)/\(database)?passfile=\(file)&\(parameters)"
        }
        let ca = certificates.caCertificate.path
        let otherCA = certificates.otherCACertificate.path

        // When / Then: verify-full connects to the name on the certificate
        let verified = try Store.open(location: url(host: "localhost", "sslmode=verify-full&sslrootcert=\(ca)"))
        let ssl = try verified.engine.read { db in
            try db.scalar("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()", as: String.self)
        }
        #expect(ssl == "true")

        // and refuses another name for the same server
        let wrongName = #expect(throws: StoreError.self) {
            try Store.open(location: url(host: "127.0.0.1", "sslmode=verify-full&sslrootcert=\(ca)"))
        }
        #expect(wrongName?.kind == .tls, "\(wrongName?.description ?? "")")
        #expect(wrongName?.description.contains("does not match host name") == true, "\(wrongName?.description ?? "")")

        // require encrypts without checking
        _ = try Store.open(location: url(host: "127.0.0.1", "sslmode=require"))

        // verify-ca against a CA that signed nothing of the server's is refused
        let wrongCA = #expect(throws: StoreError.self) {
            try Store.open(location: url(host: "127.0.0.1", "sslmode=verify-ca&sslrootcert=\(otherCA)"))
        }
        #expect(wrongCA?.kind == .tls, "\(wrongCA?.description ?? "")")
        #expect(wrongCA?.description.contains("certificate verify failed") == true, "\(wrongCA?.description ?? "")")
        #expect(wrongCA?.description.contains(server.password) == false)
    }

    @Test func secondHostIsUsedWhenTheFirstIsDown() throws {
        // Given two servers, the first one stopped, and the database on the second
        let first = try PostgresServer.dedicated()
        let second = try PostgresServer.dedicated()
        let database = databaseName(try second.createDatabase())
        let file = try passwordFile([first, second], in: try scratch())
        try first.stop()

        // When the URL names both, asking for the one that takes writes
        let store = try Store.open(
            location: "postgresql://mnistlab@127.0.0.1:\(first.port),127.0.0.1:\(second.port)/"
                + "\(database)?target_session_attrs=read-write&sslmode=disable&passfile=\(file)")

        // Then it is connected to the second
        let port = try store.engine.read { db in
            try db.scalar("SELECT current_setting('port')", as: String.self)
        }
        #expect(port == String(second.port))
    }
}
