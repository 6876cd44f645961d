import Testing

@testable import Store

/// A URL without a password takes it from a libpq password file, matched as libpq matches.
struct PasswordFileTests {
    static let text = #"""
        # host:port:database:user:password
        db.example:5432:mnistlab:lab:first
        db.example:5432:mnistlab:lab:second
        db.example:*:*:ops:any\:thing\\
        localhost:6000:lab:lab:local
        db.example:5432:other:lab
        """#

    func password(host: String = "db.example", port: Int = 5432, database: String = "mnistlab", user: String = "lab") -> String? {
        PasswordFile.password(in: Self.text, host: host, port: port, database: database, user: user)
    }

    @Test func firstMatchingLineGivesThePassword() {
        #expect(password() == "first")
    }

    @Test func wildcardsAndEscapesAreReadAsLibpqReadsThem() {
        #expect(password(port: 6543, database: "x", user: "ops") == #"any:thing\"#)
    }

    @Test func loopbackAddressesMatchLocalhost() {
        #expect(password(host: "127.0.0.1", port: 6000, database: "lab") == "local")
        #expect(password(host: "::1", port: 6000, database: "lab") == "local")
    }

    @Test func noMatchingLineGivesNone() {
        #expect(password(user: "someone") == nil)
        #expect(password(port: 5433) == nil)
        // A line with four fields is not a password line.
        #expect(password(database: "other") == nil)
    }
}
