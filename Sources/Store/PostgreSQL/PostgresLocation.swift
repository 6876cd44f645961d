/// A PostgreSQL database named by a libpq connection URI, read by libpq itself, so that
/// everything psql takes works: `postgresql:///mnistlab` (the local socket),
/// `postgresql://lab@db1,db2/mnistlab?target_session_attrs=read-write`,
/// `?sslmode=verify-ca&sslrootcert=ca.crt`, client certificates, `?service=lab`, and the
/// `PG*` variables, `~/.pgpass` and the service file for whatever the URI leaves out.
import CLibPQ
import Foundation

/// Where a PostgreSQL database is and how to reach it.
public struct PostgresLocation: Sendable, Equatable {
    /// The URI as libpq reads it (the scheme in lower case, as libpq needs it).
    let url: String
    /// The URI's password, as written in it (percent-encoded or not): kept out of messages.
    private let secrets: [String]

    /// Whether `text` is meant as a PostgreSQL URL (its scheme), rather than a file path.
    public static func isURL(_ text: String) -> Bool {
        scheme(of: text) != nil
    }

    private static func scheme(of text: String) -> String? {
        let lowered = text.prefix(13).lowercased()
        return ["postgresql://", "postgres://"].first { lowered.hasPrefix($0) }
    }

    /// The URI without its password, for messages: as given otherwise, as psql's users wrote
    /// it.
    public var redacted: String { Self.redacted(url) }

    /// `text` without a password: the user part's `:password` and a `password=` parameter
    /// dropped. Never fails, so that a URI that does not parse is still named safely.
    static func redacted(_ text: String) -> String {
        guard let scheme = scheme(of: text) else { return "a postgres:// URL" }
        let parts = URIParts(text.dropFirst(scheme.count))
        if let misplaced = parts.misplacedAt {
            // A password holding '/', '?' or '#' cut the URI inside it: only the user name
            // and what follows the last '@' are surely not the password.
            return scheme + parts.userWithoutPassword
                + text[text.index(after: misplaced)...]
        }
        var shown = scheme + parts.userWithoutPassword + parts.hostAndPath
        let parameters = parts.query.split(separator: "&", omittingEmptySubsequences: true)
            .filter { !$0.lowercased().hasPrefix("password=") }
        if !parameters.isEmpty { shown += "?" + parameters.joined(separator: "&") }
        return shown
    }

    /// Checks `url` as libpq reads it; throws `.badURL` with one sentence saying what is
    /// wrong, which never repeats the password.
    init(url text: String) throws {
        guard let scheme = Self.scheme(of: text) else {
            throw Self.bad("it does not start with postgres:// or postgresql://")
        }
        let rest = text.dropFirst(scheme.count)
        let parts = URIParts(rest)
        secrets = [parts.password, parts.password.removingPercentEncoding]
            .compactMap { $0 }.filter { !$0.isEmpty }
            + parts.query.split(separator: "&").filter { $0.lowercased().hasPrefix("password=") }
            .map { String($0.dropFirst("password=".count)) }
        url = scheme.lowercased() + rest
        if parts.misplacedAt != nil {
            throw Self.bad(
                "the user name or password holds a character a URL reserves; percent-encode it "
                    + "(@ as %40, : as %3A, / as %2F, ? as %3F, # as %23)")
        }
        // libpq takes the first '@' as the end of the user part, and the rest as host names.
        if parts.authority.filter({ $0 == "@" }).count > 1 {
            throw Self.bad(
                "it has more than one '@' before the host; an '@' in the password must be "
                    + "percent-encoded as %40 (postgres://user:p%40ss@host/db)")
        }
        let options = try Self.parse(url, scrubbing: secrets)
        try Self.check(options)
    }

    /// libpq checks these only when connecting, where a bad one would read as a failed
    /// connection.
    private static func check(_ options: [String: String]) throws {
        let modes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
        if let mode = options["sslmode"], !modes.contains(mode) {
            throw bad("sslmode must be disable, allow, prefer, require, verify-ca or verify-full; got '\(mode)'")
        }
        if let ports = options["port"] {
            // A host written without a port has an empty entry: the default port.
            for port in ports.split(separator: ",", omittingEmptySubsequences: true) {
                guard port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port),
                    (1...65535).contains(number)
                else {
                    throw bad("the port must be a number from 1 to 65535; got '\(port)'")
                }
            }
        }
    }

    /// The URI's settings as libpq reads them (keyword → value), or `.badURL` with libpq's
    /// reason.
    private static func parse(_ url: String, scrubbing secrets: [String]) throws -> [String: String] {
        let pq = try LibPQ.shared
        var error: UnsafeMutablePointer<CChar>?
        guard let options = pq.conninfoParse(url, &error) else {
            defer { pq.freemem(error) }
            let reason = scrub(tidy(text(error)), secrets)
            throw bad(reason.isEmpty ? "libpq cannot read it" : reason)
        }
        defer { pq.conninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return values
    }

    /// `message` without the URI's password, should libpq have quoted it.
    func scrub(_ message: String) -> String { Self.scrub(message, secrets) }

    private static func scrub(_ message: String, _ secrets: [String]) -> String {
        secrets.reduce(message) { $0.replacingOccurrences(of: $1, with: "…") }
    }

    /// libpq's message as one line without its final period (the caller ends the
    /// sentence): its lines joined, runs of spaces and tabs (`FATAL:  …`, `\tIs the server
    /// running…?`) one space.
    static func tidy(_ message: String) -> String {
        var line = message.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while line.hasSuffix(".") { line.removeLast() }
        return line
    }

    private static func bad(_ reason: String) -> StoreError {
        StoreError(.badURL, "not a usable PostgreSQL URL: \(reason).")
    }
}

/// A URI after its scheme, cut as libpq cuts it: the authority up to the first '/' or '?',
/// the query after the first '?'. The user part ends at the authority's last '@' here (libpq
/// takes the first, but refusing a second one is `PostgresLocation`'s job), so that an
/// unencoded '@' in a password never shows the rest of it as a host name.
private struct URIParts {
    /// The last '@', where a user part exists and that '@' stands after a '/', '?' or '#':
    /// a password holding one of those, which cut the URI inside it (`user:p/w@host`), so
    /// that the rest would read as host, port or database. Nil for a well-formed URI.
    var misplacedAt: Substring.Index?
    var authority: Substring
    /// `user` or `user:password` followed by '@', or "" when there is none.
    var userInfo: Substring
    var hostAndPath: Substring
    var query: Substring

    init(_ rest: Substring) {
        let cut = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
        if let first = rest.firstIndex(of: "@"), first < cut, let last = rest.lastIndex(of: "@"),
            last > cut
        {
            misplacedAt = last
        }
        let queryStart = rest.firstIndex(of: "?")
        query = queryStart.map { rest[rest.index(after: $0)...] } ?? ""
        let beforeQuery = rest[..<(queryStart ?? rest.endIndex)]
        let authorityEnd = beforeQuery.firstIndex(of: "/") ?? beforeQuery.endIndex
        authority = beforeQuery[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            userInfo = beforeQuery[...at]
            hostAndPath = beforeQuery[beforeQuery.index(after: at)...]
        } else {
            userInfo = ""
            hostAndPath = beforeQuery
        }
    }

    var password: String {
        guard let colon = userInfo.firstIndex(of: ":") else { return "" }
        return String(userInfo[userInfo.index(after: colon)...].dropLast())
    }

    var userWithoutPassword: String {
        guard let colon = userInfo.firstIndex(of: ":") else { return String(userInfo) }
        return userInfo[..<colon] + "@"
    }
}
