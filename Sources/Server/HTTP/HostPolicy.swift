/// Which requests the dashboard answers at all, decided from their head alone before any
/// route runs: the defence against DNS rebinding and cross-site writes.
import Foundation

/// A page on a rebinding domain (evil.example resolving to 127.0.0.1) reaches the server
/// with its own name in `Host`, and the browser lets it read the answers as same-origin. So
/// the server answers only the names it serves: loopback names and addresses, the address
/// it listens on, any IP address (a page can't rebind an address: its origin is the
/// address itself), and the names given with `--allow-host` (a reverse proxy's). A request
/// that writes (anything but GET and HEAD) carrying an `Origin` must come from a page of
/// this server; scripts and curl send no Origin and keep working.
public struct HostPolicy: Sendable, Equatable {
    /// Names answered besides IP addresses, lower-cased, without a trailing dot.
    let names: Set<String>

    /// `host` is the address listened on (`--host`), `allowed` the extra names.
    public init(listeningOn host: String, allowing allowed: [String] = []) {
        names = Set((["localhost", host] + allowed).map(Self.normalized))
    }

    /// nil when the request may go on; else the refusal: 400 without a usable Host, 421
    /// for a name this server does not serve, 403 for a write from another origin.
    func refusal(host: String?, origin: String?, method: String) -> HTTPError? {
        guard let host, let name = Self.name(ofHost: host) else {
            return HTTPError(400, "The request needs a Host header naming this server.")
        }
        guard serves(name) else {
            return HTTPError(
                421,
                "This server does not answer for '\(String(name.prefix(80)))'; "
                    + "`mnistlab serve --allow-host NAME` adds a name (for a reverse proxy).")
        }
        if method != "GET", method != "HEAD", let origin,
            origin.lowercased() != "http://" + host.lowercased()
        {
            return HTTPError(403, "Writes are only taken from this server's own pages; the request came from '\(String(origin.prefix(80)))'.")
        }
        return nil
    }

    func serves(_ name: String) -> Bool {
        names.contains(name) || name.hasSuffix(".localhost") || Self.isAddress(name)
    }

    /// The name in a Host header's value, without its port and brackets, lower-cased; nil
    /// when it is not a host name or address.
    static func name(ofHost value: String) -> String? {
        var host = Substring(value)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else {
                return nil
            }
            host = host[host.index(after: host.startIndex)..<close]
            return isAddress(String(host)) ? host.lowercased() : nil
        }
        if let colon = host.lastIndex(of: ":") {
            guard host[host.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
            host = host[..<colon]
        }
        let name = normalized(String(host))
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        return !name.isEmpty && allowed ? name : nil
    }

    private static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// Whether `text` is an IPv4 address in dotted-quad form or an IPv6 address.
    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
