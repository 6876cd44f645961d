/// A certificate authority and a server certificate made by `openssl` for one test, to
/// start a PostgreSQL server with TLS and check what a client verifies; and client
/// certificates the same CA signs, for a server that authenticates users by certificate.
import Foundation

public struct TestCertificates {
    /// The CA that signed the server's certificate.
    public let caCertificate: URL
    /// Another CA, which signed nothing the server has.
    public let otherCACertificate: URL
    /// The server's certificate (for the host name `localhost` only) and its key.
    public let serverCertificate: Data
    public let serverKey: Data
    /// Where the files are.
    public let directory: URL

    /// Makes them in `directory`.
    public init(in directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        for ca in ["ca", "other-ca"] {
            try Self.openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(ca)",
                "-keyout", path("\(ca).key"), "-out", path("\(ca).crt"),
            ])
        }
        try Self.openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", path("server.key"), "-out", path("server.csr"),
        ])
        try "subjectAltName=DNS:localhost\n".write(toFile: path("san"), atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-days", "2", "-in", path("server.csr"), "-CA", path("ca.crt"),
            "-CAkey", path("ca.key"), "-CAcreateserial", "-extfile", path("san"),
            "-out", path("server.crt"),
        ])
        caCertificate = URL(fileURLWithPath: path("ca.crt"))
        otherCACertificate = URL(fileURLWithPath: path("other-ca.crt"))
        serverCertificate = try Data(contentsOf: URL(fileURLWithPath: path("server.crt")))
        serverKey = try Data(contentsOf: URL(fileURLWithPath: path("server.key")))
    }

    /// postgresql.conf lines and data-directory files for a server with this certificate;
    /// `verifyingClients` adds the CA that client certificates must be signed by.
    public func serverSettings(verifyingClients: Bool = false) throws -> (settings: String, files: [String: Data]) {
        var settings = "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'"
        var files = ["server.crt": serverCertificate, "server.key": serverKey]
        if verifyingClients {
            settings += "\nssl_ca_file = 'ca.crt'"
            files["ca.crt"] = try Data(contentsOf: caCertificate)
        }
        return (settings, files)
    }

    /// A client certificate for `user` (its common name, which a `cert` line of pg_hba.conf
    /// matches with the role) signed by the CA, and its key (mode 0600).
    public func client(_ user: String) throws -> (certificate: URL, key: URL) {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        try Self.openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(user)",
            "-keyout", path("\(user).key"), "-out", path("\(user).csr"),
        ])
        try Self.openssl([
            "x509", "-req", "-days", "2", "-in", path("\(user).csr"), "-CA", path("ca.crt"),
            "-CAkey", path("ca.key"), "-CAcreateserial", "-out", path("\(user).crt"),
        ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("\(user).key"))
        return (URL(fileURLWithPath: path("\(user).crt")), URL(fileURLWithPath: path("\(user).key")))
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitForExit()
        guard process.terminationStatus == 0 else {
            throw ServerError("openssl \(arguments.first ?? "") failed (status \(process.terminationStatus))")
        }
    }
}
