/// The dashboard's HTTP/1.1 server: POSIX sockets, a thread per connection, and a bound on
/// everything a client can make it hold (see docs/layout.md for why it is our own).
///
/// - A request's head (request line and headers) is at most `maxHeadBytes` (else 431), and
///   must arrive within `headerTimeout` of its first byte, body included (else the
///   connection closes). Every byte is looked at once: the search for the blank line that
///   ends the head starts where the last one stopped.
/// - A body over `maxBodyBytes` is refused (413) from its Content-Length, before a byte of it
///   is read, and the connection closes, so the rest is never parsed as a request.
/// - A kept-alive connection waits `idleTimeout` for its next request, then closes.
/// - At most `maxConnections` are served at once; the next is told 503 and closed. At most
///   `maxStreams` of them hold an event stream; the next stream is refused with 503.
/// - Writes that the client does not take within `writeTimeout` end the connection, and a
///   write to a client that has gone fails at once (MSG_NOSIGNAL: no SIGPIPE).
import Foundation
import Store
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public struct HTTPLimits: Sendable {
    public var maxHeadBytes = 16 * 1024
    public var maxBodyBytes = 1 << 20
    public var headerTimeout = Timeouts.requestHead
    public var idleTimeout = Timeouts.idleConnection
    public var writeTimeout = Timeouts.write
    public var maxConnections = 128
    public var maxStreams = 64

    public init() {}
}

/// The address could not be listened on: its port is taken, it is not this machine's, or the
/// port needs privileges. `errno` and `reason` are the system's.
public struct ListenError: Error {
    public var errno: Int32
    public var reason: String
}

/// `--host` named something that is not an IPv4 or IPv6 address (nor "localhost").
public struct HostError: Error {
    public var host: String
}

final class HTTPServer: Sendable {
    typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    let limits: HTTPLimits
    let policy: HostPolicy
    private let handler: Handler
    private let listener: Int32
    /// The URL clients reach it at, e.g. "http://127.0.0.1:8080/".
    let url: String
    private let counts = Mutex<(connections: Int, streams: Int)>((0, 0))

    /// Binds and listens on `host`:`port` (port 0 picks a free one). Throws `HostError` for a
    /// host that is not an address, `ListenError` when the address can't be listened on.
    init(host: String, port: UInt16, policy: HostPolicy, limits: HTTPLimits, handler: @escaping Handler) throws {
        self.limits = limits
        self.policy = policy
        self.handler = handler
        let address = host == "localhost" ? "127.0.0.1" : host
        let family = address.contains(":") ? AF_INET6 : AF_INET
        var storage = sockaddr_storage()
        var length: socklen_t
        if family == AF_INET6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &a.sin6_addr) == 1 else { throw HostError(host: host) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: a, as: sockaddr_in6.self) }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &a.sin_addr) == 1 else { throw HostError(host: host) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: a, as: sockaddr_in.self) }
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(errno: errno, reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let error = ListenError(errno: errno, reason: String(cString: strerror(errno)))
            close(fd)
            throw error
        }
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let actual = withUnsafeBytes(of: storage) { raw in
            family == AF_INET6
                ? raw.load(as: sockaddr_in6.self).sin6_port : raw.load(as: sockaddr_in.self).sin_port
        }
        listener = fd
        url = family == AF_INET6
            ? "http://[\(address)]:\(UInt16(bigEndian: actual))/"
            : "http://\(address):\(UInt16(bigEndian: actual))/"
    }

    /// Accepts connections until the process ends, each served on a thread of its own.
    func run() -> Never {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                // Out of descriptors or memory for a moment: let the connections drain.
                if errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS {
                    Thread.sleep(forTimeInterval: Timeouts.acceptRetry.timeInterval)
                }
                continue
            }
            setTimeout(fd, SO_SNDTIMEO, limits.writeTimeout)
            let admitted = counts.withLock { counts in
                guard counts.connections < limits.maxConnections else { return false }
                counts.connections += 1
                return true
            }
            guard admitted else {
                let busy = HTTPResponse.error(
                    HTTPError(503, "The server has \(limits.maxConnections) connections open, its most; try again shortly."))
                _ = Connection.send(fd, busy.head(keepAlive: false) + busy.bytes)
                shutdown(fd, Int32(SHUT_RDWR))
                close(fd)
                continue
            }
            let connection = Connection(fd: fd, server: self)
            let thread = Thread {
                connection.serve()
                self.counts.withLock { $0.connections -= 1 }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// The response to `request`, or the refusal of a stream past `maxStreams`; `release`
    /// must be called when a stream it admitted ends.
    fileprivate func respond(to request: HTTPRequest) -> (HTTPResponse, admittedStream: Bool) {
        let response = handler(request)
        guard case .stream = response.body else { return (response, false) }
        let admitted = counts.withLock { counts in
            guard counts.streams < limits.maxStreams else { return false }
            counts.streams += 1
            return true
        }
        guard admitted else {
            return (
                .error(HTTPError(503, "The server has \(limits.maxStreams) event streams open, its most; close some of its pages.")),
                false
            )
        }
        return (response, true)
    }

    fileprivate func streamEnded() {
        counts.withLock { $0.streams -= 1 }
    }
}

/// One client's connection: requests read, answered and written in turn on one thread.
private final class Connection: @unchecked Sendable {
    let fd: Int32
    let server: HTTPServer
    /// Bytes received and not yet used (the next request's, when the client pipelines).
    var buffer: [UInt8] = []

    init(fd: Int32, server: HTTPServer) {
        self.fd = fd
        self.server = server
    }

    func serve() {
        defer { close(fd) }
        var first = true
        while true {
            let limits = server.limits
            // The first request's first byte gets the header timeout; the next ones' the
            // idle timeout.
            if buffer.isEmpty {
                let wait = first ? limits.headerTimeout : limits.idleTimeout
                guard receive(until: ContinuousClock.now + wait) else { return }
            }
            first = false
            let deadline = ContinuousClock.now + limits.headerTimeout
            guard let headEnd = readHead(until: deadline) else { return }
            let request: HTTPRequest
            do {
                request = try HTTPRequest.parse(head: buffer[..<headEnd])
            } catch {
                return refuse(error)
            }
            buffer.removeFirst(headEnd + 4)
            if let refusal = server.policy.refusal(
                host: request.headers["host"], origin: request.headers["origin"],
                method: request.method)
            {
                return refuse(refusal)
            }
            guard request.contentLength <= limits.maxBodyBytes else {
                return refuse(
                    HTTPError(413, "The body is \(request.contentLength) bytes; at most \(limits.maxBodyBytes) are read."))
            }
            guard var complete = readBody(request, until: deadline) else { return }
            complete.body = Array(buffer.prefix(request.contentLength))
            buffer.removeFirst(request.contentLength)

            let (response, isStream) = server.respond(to: complete)
            let keepAlive = request.keepsAlive && !isStream
            var out = response.head(keepAlive: keepAlive)
            if request.method != "HEAD" { out += response.bytes }
            guard Self.send(fd, out) else { return }
            if isStream, case .stream(let stream) = response.body {
                defer { server.streamEnded() }
                if request.method != "HEAD" { stream.run(StreamOutput(fd: fd)) }
                return
            }
            guard keepAlive else { return }
        }
    }

    /// Reads until the buffer holds a whole head; returns the index of its blank line. Each
    /// byte is searched once. Refuses a head over the limit (431) and closes on a deadline
    /// missed, the client gone, or a read error.
    private func readHead(until deadline: ContinuousClock.Instant) -> Int? {
        var searched = 0
        while true {
            if let end = Self.blankLine(in: buffer, from: searched) {
                guard end <= server.limits.maxHeadBytes else { break }
                return end
            }
            guard buffer.count <= server.limits.maxHeadBytes else { break }
            searched = max(0, buffer.count - 3)
            guard receive(until: deadline) else { return nil }
        }
        refuse(HTTPError(431, "The request line and headers are over \(server.limits.maxHeadBytes) bytes."))
        return nil
    }

    /// Reads until the buffer holds the request's body; nil when the client went or the
    /// deadline passed.
    private func readBody(_ request: HTTPRequest, until deadline: ContinuousClock.Instant) -> HTTPRequest? {
        while buffer.count < request.contentLength {
            guard receive(until: deadline) else { return nil }
        }
        return request
    }

    /// The index of the first CRLFCRLF at or after `start`.
    static func blankLine(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = start
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// Appends what the client sends next, waiting no later than `deadline`; false when the
    /// deadline passed, the client closed, or the read failed.
    private func receive(until deadline: ContinuousClock.Instant) -> Bool {
        guard waitReadable(fd, until: deadline) else { return false }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[..<n]
        return true
    }

    /// Answers with `error` as JSON and ends the connection; what the client sent after is
    /// never read.
    private func refuse(_ error: HTTPError) {
        let response = HTTPResponse.error(error)
        _ = Self.send(fd, response.head(keepAlive: false) + response.bytes)
        shutdown(fd, Int32(SHUT_WR))
        // Closing with unread bytes would reset the connection, and the client could lose
        // the answer: what it sends meanwhile is read and dropped, for `Timeouts.refusalDrain`
        // or 256 KiB at most, then the connection closes whatever it still sends.
        buffer = []
        let until = ContinuousClock.now + Timeouts.refusalDrain
        var dropped = 0
        while dropped < 256 * 1024, receive(until: until) {
            dropped += buffer.count
            buffer = []
        }
    }

    /// Writes all of `bytes`; false when the client has gone or stopped reading.
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

/// Where a stream writes, and how it learns that its client has gone.
public struct StreamOutput: Sendable {
    let fd: Int32

    /// Writes `bytes`; false when the client has gone (the stream should end).
    public func write(_ bytes: [UInt8]) -> Bool {
        Connection.send(fd, bytes)
    }

    /// Whether the client has closed its side (or sent more than a stream takes): a closed
    /// socket reads as end of file.
    public func clientHasGone() -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        if p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return true }
        var scratch = [UInt8](repeating: 0, count: 512)
        let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        // A client may send nothing on a stream; whatever it sends is read and dropped, and
        // end of file or an error means it has gone.
        return n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    }
}

extension HTTPResponse {
    /// The bytes of a body of bytes; none for a stream.
    var bytes: [UInt8] {
        if case .bytes(let bytes) = body { return bytes }
        return []
    }
}

/// Waits until `fd` has something to read (or end of file), or `deadline` passes.
private func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant) -> Bool {
    while true {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return false }
        let ms = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&p, 1, ms)
        if n > 0 { return true }
        if n < 0 && errno != EINTR { return false }
    }
}

/// Sets a socket's send or receive timeout.
private func setTimeout(_ fd: Int32, _ option: Int32, _ duration: Duration) {
    var t = timeval(
        tv_sec: Int(duration.components.seconds),
        tv_usec: Int(duration.components.attoseconds / 1_000_000_000_000))
    setsockopt(fd, SOL_SOCKET, option, &t, socklen_t(MemoryLayout<timeval>.size))
}
