import Testing

@testable import Store

@Suite struct PostgresLocationTests {
    @Test func fullURLIsParsed() throws {
        // Given
        let url = "postgresql://lab:p%40ss%3Aword@db.example.org:6543/runs?sslmode=require"

        // When
        let location = try PostgresLocation(url: url)

        // Then
        #expect(location.user == "lab")
        #expect(location.password == "p@ss:word")
        #expect(location.host == "db.example.org")
        #expect(location.port == 6543)
        #expect(location.database == "runs")
        #expect(location.sslMode == .require)
        #expect(location.redacted == "postgres://lab@db.example.org:6543/runs?sslmode=require")
        #expect(!location.redacted.contains("word"))
    }

    @Test func defaultsAreLibpqs() throws {
        // Given / When
        let location = try PostgresLocation(url: "POSTGRES://lab@10.0.0.7")

        // Then: port 5432, the user's database, sslmode prefer
        #expect(location.port == 5432)
        #expect(location.database == "lab")
        #expect(location.sslMode == .prefer)
        #expect(location.password == nil)
        #expect(location.redacted == "postgres://lab@10.0.0.7:5432/lab")
    }

    @Test func ipv6HostIsParsed() throws {
        // Given / When
        let location = try PostgresLocation(url: "postgres://lab:pw@[::1]:5433/x?sslmode=disable")

        // Then
        #expect(location.host == "::1")
        #expect(location.port == 5433)
        #expect(location.redacted == "postgres://lab@[::1]:5433/x?sslmode=disable")
    }

    @Test func schemeIsRecognizedWithoutRegardToCase() {
        #expect(PostgresLocation.isURL("postgres://a@b"))
        #expect(PostgresLocation.isURL("PostgreSQL://a@b"))
        #expect(!PostgresLocation.isURL("lab.sqlite"))
        #expect(!PostgresLocation.isURL("postgres:/a@b"))
        #expect(!PostgresLocation.isURL("mysql://a@b"))
    }

    @Test(arguments: [
        ("db.sqlite", "does not start with postgres://"),
        ("postgres://lab:pw@/x", "names no host"),
        ("postgres://lab:pw@:5432/x", "names no host"),
        ("postgres://host/x", "names no user"),
        ("postgres://:pw@host/x", "names no user"),
        ("postgres://lab@host:0/x", "port must be a number from 1 to 65535; got '0'"),
        ("postgres://lab@host:70000/x", "got '70000'"),
        ("postgres://lab@host:abc/x", "got 'abc'"),
        ("postgres://lab@host:/x", "got ''"),
        ("postgres://lab@host:+5/x", "got '+5'"),
        ("postgres://lab@host/x?sslmode=allow", "sslmode must be disable, prefer, require or verify-full; got 'allow'"),
        ("postgres://lab@host/x?sslmode=require&sslmode=disable", "sslmode is given twice"),
        ("postgres://lab@host/x?application_name=a", "the parameter application_name is not supported"),
        ("postgres://lab:p%zzw@host/x", "the password has a malformed percent-escape"),
        ("postgres://lab@host/da%2", "the database name has a malformed percent-escape"),
        ("postgres://lab@[::1/x", "no closing ']'"),
        ("postgres://lab@[zz]/x", "is not an IPv6 address"),
        ("postgres://lab@ho st/x", "is not a host name"),
        ("postgres://lab@host/a/b", "must not contain '/'"),
        ("postgres://lab@host/x#frag", "fragment"),
        // A password with a raw '@' and a reserved character after it: the advice to
        // percent-encode, not a complaint about the port or the database the cut produced.
        ("postgres://lab:se@cr:et/zz@127.0.0.1:5432/db", "percent-encode it (@ as %40"),
        ("postgres://lab:se@cr?zz@host/db", "percent-encode it (@ as %40"),
        ("postgres://lab:a#zz@host/db", "percent-encode it (@ as %40"),
    ])
    func badURLIsRefusedInOneSentence(url: String, reason: String) {
        // When
        let error = #expect(throws: StoreError.self) { try PostgresLocation(url: url) }

        // Then: .badURL, one line, the reason, never the password
        #expect(error?.kind == .badURL)
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("\n") == false)
        #expect(error?.description.contains("zz") == false || url.contains("[zz]"))
        #expect(error?.description.hasSuffix(".") == true)
    }
}
