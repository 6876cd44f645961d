import TestSupport
import Testing

@testable import Store

/// libpq's messages about a client certificate, named for people without a server (the
/// server tests are `ClientCertificateTests`).
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct PostgresConnectionTests {
    private let prefix = #"connection to server at "localhost" (127.0.0.1), port 5432 failed: "#

    @Test(arguments: [
        (
            "FATAL: connection requires a valid client certificate", ClientCertificateProblem.required,
            "the server accepts this user only with a client certificate, and none was sent."
        ),
        (
            #"certificate present, but not private key file "/k/lab.key""#, .keyMissing(path: "/k/lab.key"),
            "the client certificate's key /k/lab.key does not exist."
        ),
        (
            #"private key file "/k/lab.key" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root"#,
            .keyTooOpen(path: "/k/lab.key"),
            "the client key /k/lab.key may be read by other users (group or world permissions), and libpq refuses to use such a key."
        ),
        (
            #"could not load private key file "/k/lab.key": unsupported"#, .keyUnusable(path: "/k/lab.key"),
            "the client key /k/lab.key can't be used: it is not a PEM private key this user can read (unsupported)."
        ),
        (
            #"could not load private key file "/k/lab.key":"#, .keyUnusable(path: "/k/lab.key"),
            "the client key /k/lab.key can't be used: this user can't read it."
        ),
        (
            #"could not load private key file "/k/lab.key": key values mismatch"#, .keyUnusable(path: "/k/lab.key"),
            "the client key /k/lab.key can't be used: it is not the key of the client certificate."
        ),
        (
            #"private key file "/k" is not a regular file"#, .keyUnusable(path: "/k"),
            "the client key /k can't be used: it is not a file."
        ),
    ])
    func clientCertificateFailuresAreNamed(
        message: String, problem: ClientCertificateProblem, reason: String
    ) {
        let named = ConnectFailure(message: prefix + message).clientCertificate
        #expect(named?.problem == problem)
        #expect(named?.reason == reason)
    }

    @Test func otherFailuresAreNotAboutTheClientCertificate() {
        for message in [
            #"server certificate for "localhost" does not match host name "127.0.0.1""#,
            "FATAL: password authentication failed for user \"lab\"",
            "Connection refused Is the server running on that host and accepting TCP/IP connections?",
        ] {
            #expect(ConnectFailure(message: prefix + message).clientCertificate == nil)
        }
    }
}
