/// The requests and responses of the dashboard's HTTP/1.1 server, and the parsing of a
/// request's head: pure values, tested without a socket (HTTPMessageTests).
import Foundation

/// A request as the routes see it: its head parsed, its body read whole (it is small: the
/// server refuses a larger one before reading it).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path, percent-decoded, without the query.
    public var path: String
    /// The query's parameters, percent-decoded; the first of a repeated name.
    public var query: [String: String]
    /// Header values by lower-cased name; the first of a repeated name.
    public var headers: [String: String]
    public var body: [UInt8] = []

    public init(
        method: String, path: String, query: [String: String] = [:],
        headers: [String: String] = [:], body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// HTTP/1.1 keeps the connection for the next request unless asked not to.
    var keepsAlive = true

    /// The declared body length (0 without one).
    var contentLength: Int = 0

    /// Parses a request head: the request line and the header lines, each ended by CRLF,
    /// without the blank line that ends them. Refuses (400) what HTTP/1.1 does not allow or
    /// this server does not take: a chunked or otherwise encoded body (501), a bad or
    /// repeated Content-Length, a missing or repeated Host, a target that is not a path.
    static func parse(head: ArraySlice<UInt8>) throws(HTTPError) -> HTTPRequest {
        guard let text = String(validating: head, as: UTF8.self) else {
            throw HTTPError(400, "The request head is not UTF-8.")
        }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
        let requestLine = lines.popFirst() ?? ""
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0",
            !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter && $0.isUppercase }),
            parts[1].hasPrefix("/")
        else {
            throw HTTPError(400, "The request line must be METHOD /path HTTP/1.1.")
        }
        var headers: [String: String] = [:]
        var seen: [String: Int] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else {
                throw HTTPError(400, "A header line must be Name: value.")
            }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            seen[name, default: 0] += 1
            if headers[name] == nil { headers[name] = value }
        }
        for name in ["host", "content-length"] where seen[name, default: 0] > 1 {
            throw HTTPError(400, "The request has \(seen[name]!) \(name) headers; one is allowed.")
        }
        if headers["transfer-encoding"] != nil {
            throw HTTPError(501, "Request bodies must have a Content-Length; Transfer-Encoding is not supported.")
        }
        var length = 0
        if let given = headers["content-length"] {
            guard given.count <= 18, let n = Int(given), n >= 0, given.allSatisfy(\.isASCII) else {
                throw HTTPError(400, "Content-Length must be a number of bytes; got '\(given.prefix(40))'.")
            }
            length = n
        }
        let target = parts[1]
        let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if pathPart.count == 2 {
            for pair in pathPart[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = decode(kv[0])
                if query[key] == nil { query[key] = kv.count == 2 ? decode(kv[1]) : "" }
            }
        }
        var request = HTTPRequest(
            method: String(parts[0]), path: decode(pathPart[0], plus: false), query: query,
            headers: headers)
        request.contentLength = length
        let connection = headers["connection"]?.lowercased() ?? ""
        request.keepsAlive =
            parts[2] == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive")
        guard parts[2] == "HTTP/1.0" || headers["host"] != nil else {
            throw HTTPError(400, "An HTTP/1.1 request must carry a Host header.")
        }
        return request
    }

    /// Percent-decoding (and '+' as a space in a query); malformed escapes stay as they are.
    private static func decode(_ text: Substring, plus: Bool = true) -> String {
        let spaced = plus ? text.replacingOccurrences(of: "+", with: " ") : String(text)
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// A response: a status, headers, and a body of bytes or an event stream.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public enum Body: Sendable {
        case bytes([UInt8])
        /// Written as it comes until the stream ends or the client goes, then the
        /// connection closes (no Content-Length: the body ends with the connection).
        case stream(any ResponseStream)
    }

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON `{"error": message}` response.
    static func error(_ error: HTTPError) -> HTTPResponse {
        let json = (try? JSONSerialization.data(withJSONObject: ["error": error.message])) ?? Data("{}".utf8)
        return HTTPResponse(
            status: error.status, headers: [("Content-Type", "application/json; charset=utf-8")],
            body: .bytes(Array(json) + [10]))
    }

    /// The status line and headers, with Content-Length for a body of bytes (also for HEAD,
    /// which gets no body) and Connection as given.
    func head(keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(HTTPError.phrase(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if case .bytes(let bytes) = body { text += "Content-Length: \(bytes.count)\r\n" }
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }
}

/// A response body written over time (an event stream): `run` writes through `output` until
/// it has nothing more to say or a write fails (the client has gone).
public protocol ResponseStream: Sendable {
    func run(_ output: StreamOutput)
}

/// A failure with its HTTP status and a one-line message for the client.
public struct HTTPError: Error, Sendable {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    var phrase: String { Self.phrase(status) }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 421: "Misdirected Request"
        case 431: "Request Header Fields Too Large"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        default: "Internal Server Error"
        }
    }
}
