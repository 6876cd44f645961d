import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A reply as the tests read it.
struct HTTPReply {
    var status: Int
    /// Header names lower-cased.
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: Any? { try? JSONSerialization.jsonObject(with: body) }
}

/// A minimal HTTP/1.1 client on a plain loopback socket, so the tests see exactly what goes
/// over the wire (and can read an event stream as it arrives).
enum HTTP {
    /// One request with `Connection: close`, read to the end.
    static func request(
        _ port: Int, _ method: String, _ target: String, body: Data? = nil,
        headers: [String: String] = [:]
    ) throws -> HTTPReply {
        let raw = try exchange(port, method, target, body: body, headers: headers, until: complete)
        return try parse(raw)
    }

    static func get(_ port: Int, _ target: String) throws -> HTTPReply {
        try request(port, "GET", target)
    }

    /// Reads a response until `done` holds for the bytes so far (or `seconds` pass), then
    /// hangs up: for event streams, which never end by themselves.
    static func stream(
        _ port: Int, _ target: String, headers: [String: String] = [:], seconds: Double = 30,
        until done: (String) -> Bool
    ) throws -> String {
        let raw = try exchange(port, "GET", target, body: nil, headers: headers, seconds: seconds) {
            done(String(decoding: $0, as: UTF8.self))
        }
        return String(decoding: raw, as: UTF8.self)
    }

    private static func exchange(
        _ port: Int, _ method: String, _ target: String, body: Data?, headers: [String: String],
        seconds: Double = 30, until done: (Data) -> Bool
    ) throws -> Data {
        let connection = try RawConnection(port)
        defer { withExtendedLifetime(connection) {} }
        let fd = connection.fd
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        let request = Data((head + "\r\n").utf8) + (body ?? Data())
        var sent = 0
        try request.withUnsafeBytes { bytes in
            while sent < bytes.count {
                let n = send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                // The server may answer (413) and close before reading a large body.
                if n <= 0 { break }
                sent += n
            }
            if sent == 0 { throw HTTPClientError("send failed") }
        }
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
                if done(received) { break }
            } else if n == 0 {
                break
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                break
            }
        }
        return received
    }

    /// Whether `raw` holds a whole response: its Content-Length of body, or a chunked body's
    /// last chunk (the server keeps the connection open for more requests).
    static func complete(_ raw: Data) -> Bool {
        guard let end = raw.range(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self).lowercased()
        let body = raw.count - end.upperBound
        for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
            return body >= Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        if head.contains("transfer-encoding: chunked") {
            return raw.suffix(5) == Data("0\r\n\r\n".utf8)
        }
        return false
    }

    static func parse(_ raw: Data) throws -> HTTPReply {
        let separator = Data("\r\n\r\n".utf8)
        guard let end = raw.range(of: separator) else {
            throw HTTPClientError("no header in \(raw.count) bytes")
        }
        let lines = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
            .components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        var body = Data(raw[end.upperBound...])
        if headers["transfer-encoding"] == "chunked" { body = dechunk(body) }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let line = rest.range(of: Data("\r\n".utf8)) {
            let size = Int(String(decoding: rest[..<line.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = line.upperBound
            let stop = rest.index(start, offsetBy: size, limitedBy: rest.endIndex) ?? rest.endIndex
            out += rest[start..<stop]
            rest = rest[min(stop + 2, rest.endIndex)...]
        }
        return out
    }
}

struct HTTPClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `mnistlab serve --port 0` in a sandbox, stopped (Ctrl-C) when released.
final class RunningServer {
    let process: Process
    let port: Int
    let url: String
    /// The line it printed first: "Serving <db> at <url> (Ctrl-C stops it)".
    let banner: String
    /// The server is killed if it outlives a command's deadline, so a test that hangs on it
    /// ends.
    private let deadline: ChildDeadline

    init(_ sandbox: Sandbox, _ arguments: [String] = [], environment: [String: String] = [:]) throws {
        process = sandbox.launch(["serve", "--port", "0"] + arguments, environment: environment)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        deadline = ChildDeadline(process, seconds: Sandbox.commandDeadline)
        // The first line: "Serving <db> at http://127.0.0.1:<port>/ (Ctrl-C stops it)".
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        banner = text.components(separatedBy: "\n")[0]
        guard let range = text.range(of: #"http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression)
        else {
            process.terminate()
            throw HTTPClientError("serve printed no URL: \(text)")
        }
        url = String(text[range])
        port = Int(url.split(separator: ":").last!.dropLast()) ?? 0
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the exit status.
    func stop() -> Int32 {
        if process.isRunning { process.interrupt() }
        process.waitForExit()
        deadline.cancel()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
        deadline.cancel()
    }
}

/// A loopback connection that sends exactly the bytes it is given, for clients that break
/// the rules (no Host, huge heads, bodies never sent, bytes trickled, sockets left idle).
final class RawConnection {
    let fd: Int32

    init(_ port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw HTTPClientError("cannot connect to port \(port)")
        }
    }

    deinit { close(fd) }

    /// Sends what it can of `bytes` without waiting more than `seconds`; returns how many
    /// went (the server may close before taking them all).
    @discardableResult
    func send(_ bytes: [UInt8], seconds: Double = 10) -> Int {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { break }
            sent += n
        }
        return sent
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Everything received until the server closes the connection or `seconds` pass, and
    /// whether it closed.
    func readUntilClosed(seconds: Double) -> (data: Data, closed: Bool) {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
            } else {
                // End of file, or a reset after the answer: either way the server closed.
                return (received, true)
            }
        }
        return (received, false)
    }

    /// The status of the first response received before the server closes or `seconds`
    /// pass (0 for none), and whether it closed.
    func status(seconds: Double = 30) -> (status: Int, closed: Bool, text: String) {
        let (data, closed) = readUntilClosed(seconds: seconds)
        let text = String(decoding: data, as: UTF8.self)
        let status = text.hasPrefix("HTTP/1.1 ") ? Int(text.dropFirst(9).prefix(3)) ?? 0 : 0
        return (status, closed, text)
    }
}
