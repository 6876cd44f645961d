import Testing

@testable import Server

/// Request heads parsed without a socket: what HTTP/1.1 allows, and what the server refuses.
struct HTTPMessageTests {
    func head(_ text: String) -> ArraySlice<UInt8> { Array(text.utf8)[...] }

    @Test func aRequestHeadIsParsedAndDecoded() throws {
        let request = try HTTPRequest.parse(
            head: head("GET /runs/a%20b?runs=1%2C2&x=y+z&runs=3 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nLast-Event-ID: 4"))
        #expect(request.method == "GET")
        #expect(request.path == "/runs/a b")
        #expect(request.query == ["runs": "1,2", "x": "y z"])
        #expect(request.headers["host"] == "127.0.0.1:8080")
        #expect(request.headers["last-event-id"] == "4")
        #expect(request.keepsAlive && request.contentLength == 0)
    }

    @Test func connectionCloseAndHTTP10EndTheConnection() throws {
        #expect(try !HTTPRequest.parse(head: head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close")).keepsAlive)
        #expect(try !HTTPRequest.parse(head: head("GET / HTTP/1.0")).keepsAlive)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1", 400),  // no Host
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked", 501),
        ("GET http://a/ HTTP/1.1\r\nHost: a", 400),
        ("GET / HTTP/2\r\nHost: a", 400),
        ("get / HTTP/1.1\r\nHost: a", 400),
        ("GET  / HTTP/1.1\r\nHost: a", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nno colon here", 400),
        ("GET / HTTP/1.1\r\nHost : a", 400),
    ])
    func malformedHeadsAreRefused(_ text: String, _ status: Int) {
        do {
            _ = try HTTPRequest.parse(head: head(text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.status == status, "\(text): \(error.message)")
        }
    }

    @Test func aResponseHeadCarriesItsLengthAndConnection() {
        let response = HTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: .bytes(Array("no".utf8)))
        #expect(
            String(decoding: response.head(keepAlive: false), as: UTF8.self)
                == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
    }
}

/// The DNS-rebinding and cross-site-write defence, decided from a request's Host and Origin.
struct HostPolicyTests {
    let policy = HostPolicy(listeningOn: "127.0.0.1", allowing: ["lab.example.org"])

    @Test(arguments: [
        "127.0.0.1:8080", "localhost", "LOCALHOST:1", "localhost.", "[::1]:8080", "[::1]", "10.1.2.3:80",
        "lab.example.org", "Lab.Example.Org:443", "app.localhost:8080",
    ])
    func theServersOwnNamesAndAnyAddressAreAnswered(_ host: String) {
        #expect(policy.refusal(host: host, origin: nil, method: "GET") == nil, "\(host)")
    }

    @Test(arguments: [
        ("evil.example", 421), ("evil.example:8080", 421), ("127.0.0.1.evil.example", 421),
        ("localhost.evil.example", 421), ("lab.example.org.evil.example", 421),
        ("", 400), ("a b", 400), ("[::1", 400), ("[evil]:80", 400), ("host:port", 400),
    ])
    func otherNamesAreRefused(_ host: String, _ status: Int) {
        #expect(policy.refusal(host: host, origin: nil, method: "GET")?.status == status, "\(host)")
    }

    @Test func aMissingHostIsRefused() {
        #expect(policy.refusal(host: nil, origin: nil, method: "GET")?.status == 400)
    }

    @Test func writesFromAnotherOriginAreRefusedAndOthersPass() {
        let host = "127.0.0.1:8080"
        #expect(policy.refusal(host: host, origin: "http://evil.example", method: "POST")?.status == 403)
        #expect(policy.refusal(host: host, origin: "null", method: "POST")?.status == 403)
        #expect(policy.refusal(host: host, origin: "http://127.0.0.1:9090", method: "POST")?.status == 403)
        #expect(policy.refusal(host: host, origin: "http://127.0.0.1:8080", method: "POST") == nil)
        // curl and scripts send no Origin; a GET's Origin is not a write
        #expect(policy.refusal(host: host, origin: nil, method: "POST") == nil)
        #expect(policy.refusal(host: host, origin: "http://evil.example", method: "GET") == nil)
    }
}
