import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct PostgresLocationTests {
    @Test func passwordIsLeftOutOfTheShownURL() throws {
        // Given
        let url = "postgresql://lab:p%40ss%3Aword@db.example.org:6543/runs?sslmode=require"

        // When
        let location = try PostgresLocation(url: url)

        // Then: libpq gets the URL as written; messages get it without the password
        #expect(location.url == url)
        #expect(location.redacted == "postgresql://lab@db.example.org:6543/runs?sslmode=require")
    }

    @Test func passwordParameterIsLeftOutOfTheShownURL() throws {
        // Given / When
        let location = try PostgresLocation(
            url: "postgres://lab@db/runs?password=hunter2&application_name=lab")

        // Then
        #expect(location.redacted == "postgres://lab@db/runs?application_name=lab")
    }

    @Test func schemeIsRecognizedWithoutRegardToCase() throws {
        #expect(PostgresLocation.isURL("postgres://a@b"))
        #expect(PostgresLocation.isURL("PostgreSQL://a@b"))
        #expect(PostgresLocation.isURL("postgresql:///mnistlab"))
        #expect(!PostgresLocation.isURL("lab.sqlite"))
        #expect(!PostgresLocation.isURL("postgres:/a@b"))
        #expect(!PostgresLocation.isURL("mysql://a@b"))
        // libpq itself only reads the lower-case scheme
        #expect(try PostgresLocation(url: "POSTGRES://lab@10.0.0.7").url == "postgres://lab@10.0.0.7")
    }

    @Test(arguments: [
        "postgresql:///mnistlab",
        "postgresql://",
        "postgresql://?service=lab",
        "postgresql://lab@db1,db2:5433/mnistlab?target_session_attrs=read-write",
        "postgresql://lab@db/mnistlab?sslmode=verify-ca&sslrootcert=/etc/lab/ca.crt",
        "postgresql://lab@db/mnistlab?sslmode=verify-full&sslcert=lab.crt&sslkey=lab.key",
        "postgresql://lab@db/mnistlab?application_name=sweep&connect_timeout=3",
        "postgresql://%2Fvar%2Frun%2Fpostgresql/mnistlab",
        "postgres://lab:pw@[::1]:5433/x?sslmode=disable",
    ])
    func libpqFormsAreAccepted(url: String) throws {
        // When / Then
        let location = try PostgresLocation(url: url)
        #expect(location.url == url)
    }

    @Test(arguments: [
        ("db.sqlite", "does not start with postgres://"),
        ("postgres://lab:zz@host:0/x", "port must be a number from 1 to 65535; got '0'"),
        ("postgres://lab:zz@host:70000/x", "got '70000'"),
        ("postgres://lab:zz@host:abc/x", "got 'abc'"),
        ("postgres://lab:zz@a,b:5432,c:+5/x", "got '+5'"),
        ("postgres://lab:zz@host/x?sslmode=maybe", "sslmode must be disable, allow, prefer, require, verify-ca or verify-full; got 'maybe'"),
        ("postgres://lab:zz@host/x?application_nme=a", "invalid URI query parameter: \"application_nme\""),
        ("postgres://lab:p%zzw@host/x", "invalid percent-encoded token"),
        ("postgres://lab:zz@[::1/x", "matching \"]\" in IPv6 host address"),
        ("postgres://lab:p@zz@host/x", "an '@' in the password must be percent-encoded as %40"),
    ])
    func badURLIsRefusedInOneSentence(url: String, reason: String) {
        // When
        let error = #expect(throws: StoreError.self) { try PostgresLocation(url: url) }

        // Then: .badURL, one line, the reason, never the password
        #expect(error?.kind == .badURL)
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("\n") == false)
        #expect(error?.description.contains("zz") == false, "\(error?.description ?? "")")
        #expect(error?.description.hasSuffix(".") == true)
    }

    @Test func unparsableURLIsShownWithoutItsPassword() {
        #expect(!PostgresLocation.redacted("postgres://lab:p@zz@host/x").contains("zz"))
        #expect(!PostgresLocation.redacted("postgres://lab:zz@[::1/x").contains("zz"))
    }
}
