/// A PostgreSQL database named by URL, as libpq reads one:
/// `postgres://user:password@host:port/database?sslmode=require`.
import Foundation

/// Where a PostgreSQL database is and how to reach it.
public struct PostgresLocation: Sendable, Equatable {
    /// libpq's `sslmode` values that mnistlab supports.
    enum SSLMode: String, Sendable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, else plain (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not checked (as libpq's `require`).
        case require
        /// TLS with the certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    let user: String
    let password: String?
    /// A name or an address; an IPv6 address without its brackets.
    let host: String
    let port: Int
    let database: String
    let sslMode: SSLMode

    /// Whether `text` is meant as a PostgreSQL URL (its scheme), rather than a file path.
    public static func isURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// The URL without its password, for messages: `postgres://user@host:5432/db`.
    public var redacted: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let query = sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)"
        return "postgres://\(Self.escape(user))@\(host):\(port)/\(Self.escape(database))\(query)"
    }

    /// `text` without a password, for messages: its redacted form when it parses, else the
    /// text with everything between "://" and the last "@" (where a password would be)
    /// dropped, or just the scheme when there is no "@".
    static func redacted(_ text: String) -> String {
        if let location = try? PostgresLocation(url: text) { return location.redacted }
        guard let schemeEnd = text.range(of: "://") else { return "a postgres:// URL" }
        let rest = text[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else {
            return String(text[..<schemeEnd.upperBound]) + rest.prefix { $0 != ":" && $0 != "/" }
        }
        return String(text[..<schemeEnd.upperBound]) + "…" + rest[at...]
    }

    /// Parses `url`; throws `.badURL` with one sentence saying what is wrong. No message
    /// repeats the part before the host, which holds the password.
    init(url: String) throws {
        guard Self.isURL(url), let schemeEnd = url.range(of: "://") else {
            throw Self.bad("it does not start with postgres:// or postgresql://")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        // What the last '@' ends is the user part: '/', '?' or '#' there would cut the URL
        // inside the password, and the error would blame the host, port or database.
        if let at = rest.lastIndex(of: "@"), rest[..<at].contains(where: { "/?#".contains($0) }) {
            throw Self.bad(
                "the user name or password holds a character a URL reserves; percent-encode it (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23)")
        }
        if rest.contains("#") { throw Self.bad("it has a fragment (#…), which means nothing here") }

        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        // The password may hold '@' only percent-encoded, but the last '@' is the one that
        // ends the user part either way.
        guard let at = rest.lastIndex(of: "@") else {
            throw Self.bad("it names no user (postgres://user:password@host/database)")
        }
        let userInfo = rest[..<at]
        let hostPort = rest[rest.index(after: at)...]

        let userPart: Substring
        if let colon = userInfo.firstIndex(of: ":") {
            userPart = userInfo[..<colon]
            password = try Self.decode(userInfo[userInfo.index(after: colon)...], "password")
        } else {
            userPart = userInfo
            password = nil
        }
        user = try Self.decode(userPart, "user name")
        guard !user.isEmpty else {
            throw Self.bad("it names no user (postgres://user:password@host/database)")
        }

        (host, port) = try Self.parseHostPort(hostPort)

        if path.contains("/") { throw Self.bad("the database name must not contain '/'") }
        let name = try Self.decode(path, "database name")
        database = name.isEmpty ? user : name

        var sslMode = SSLMode.prefer
        var seen: Set<String> = []
        for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decode(pair[0], "parameter name")
            let value = pair.count > 1 ? try Self.decode(pair[1], "parameter value") : ""
            guard key == "sslmode" else {
                throw Self.bad("the parameter \(key) is not supported (only sslmode is)")
            }
            guard seen.insert(key).inserted else { throw Self.bad("sslmode is given twice") }
            guard let mode = SSLMode(rawValue: value) else {
                throw Self.bad(
                    "sslmode must be disable, prefer, require or verify-full; got '\(value)'")
            }
            sslMode = mode
        }
        self.sslMode = sslMode
    }

    private static func parseHostPort(_ text: Substring) throws -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw bad("the IPv6 address has no closing ']'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
            else { throw bad("'\(host)' between brackets is not an IPv6 address") }
        } else {
            if let colon = text.firstIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = text
            }
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._"))
            guard host.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else {
                throw bad("'\(host)' is not a host name or an IP address")
            }
        }
        guard !host.isEmpty else { throw bad("it names no host") }

        guard let portText else { return (String(host), 5432) }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText),
            (1...65535).contains(port)
        else { throw bad("the port must be a number from 1 to 65535; got '\(portText)'") }
        return (String(host), port)
    }

    /// Percent-decoding that refuses a malformed escape instead of keeping it as text.
    private static func decode(_ text: Substring, _ what: String) throws -> String {
        guard text.contains("%") else { return String(text) }
        guard let decoded = text.removingPercentEncoding else {
            throw bad("the \(what) has a malformed percent-escape (%XX)")
        }
        return decoded
    }

    private static func escape(_ text: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private static func bad(_ reason: String) -> StoreError {
        StoreError(.badURL, "not a usable PostgreSQL URL: \(reason).")
    }
}
