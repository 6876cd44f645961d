import Foundation
import Synchronization
import TestSupport
import Testing

/// A tab of headless Chromium driven over the DevTools protocol, so a test can load a page,
/// run script in it, move the mouse and wait for what the page does. Every `Browser` of the
/// test process is a tab of one Chromium (`Chromium.shared`), closed when the `Browser` goes:
/// a Chromium launch cost about a CPU-second, once per test case.
final class Browser {
    private let chromium: Chromium
    private var target: String?
    private var session: String?

    init(_ path: String) throws { chromium = try Chromium.shared(path) }

    deinit {
        if let target {
            _ = try? chromium.call("Target.closeTarget", ["targetId": target], session: nil)
        }
    }

    /// Opens `url` in a new tab and attaches to it; later calls act on that tab.
    func open(_ url: String) throws {
        if let target { try call("Target.closeTarget", ["targetId": target], sessionScoped: false) }
        let created = try call("Target.createTarget", ["url": url], sessionScoped: false)
        let id = try #require(created["targetId"] as? String)
        target = id
        let attached = try call(
            "Target.attachToTarget", ["targetId": id, "flatten": true], sessionScoped: false)
        session = try #require(attached["sessionId"] as? String)
    }

    /// The value of a script expression in the page (a promise is awaited).
    @discardableResult
    func evaluate(_ expression: String) throws -> Any? {
        let result = try call(
            "Runtime.evaluate",
            ["expression": expression, "returnByValue": true, "awaitPromise": true])
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `expression` every 50 ms until it is true; false if `seconds` pass first.
    func wait(until expression: String, seconds: Double = 20) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try evaluate("Boolean(\(expression))") as? Bool == true { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// A mouse stroke through `points` (page coordinates): press, moves, release.
    func stroke(_ points: [(Double, Double)]) throws {
        guard let first = points.first, let last = points.last else { return }
        func mouse(_ type: String, _ p: (Double, Double), buttons: Int) throws {
            _ = try call(
                "Input.dispatchMouseEvent",
                ["type": type, "x": p.0, "y": p.1, "button": "left", "buttons": buttons,
                 "clickCount": 1])
        }
        try mouse("mousePressed", first, buttons: 1)
        for p in points.dropFirst() { try mouse("mouseMoved", p, buttons: 1) }
        try mouse("mouseReleased", last, buttons: 0)
    }

    /// A PNG of the page as it is now.
    func screenshot() throws -> Data {
        let shot = try call("Page.captureScreenshot", ["format": "png"])
        return Data(base64Encoded: shot["data"] as? String ?? "") ?? Data()
    }

    /// Sends one command (to this tab unless `sessionScoped` is false) and returns its result.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], sessionScoped: Bool = true)
        throws -> [String: Any]
    {
        try chromium.call(method, params, session: sessionScoped ? session : nil)
    }
}

/// Headless Chromium on a pipe (`--remote-debugging-pipe`: commands in on fd 3, replies out
/// on fd 4, each message ended by a NUL byte), one for the whole test process, started the
/// first time a test needs it (again should it have died). Tests running at once share it,
/// each in a tab of its own, one command at a time. It ends with the test process: its pipe
/// closes then, and a watchdog kills it should the process be killed.
final class Chromium: @unchecked Sendable {
    private static let current = Mutex<Chromium?>(nil)

    /// The running Chromium, started if there is none.
    static func shared(_ path: String) throws -> Chromium {
        try current.withLock { current in
            if let running = current, running.process.isRunning { return running }
            let started = try Chromium(path)
            current = started
            return started
        }
    }

    /// The longest one command may take; Chromium is killed past it, failing the test that
    /// waited (a page that never answers must not block it forever).
    static let commandDeadline: Double = 60

    private let process = Process()
    private let commands: FileHandle
    private let replies: FileHandle
    private let lock = NSLock()
    private var buffer = Data()
    private var lastID = 0

    private init(_ path: String) throws {
        let profile = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnistlab-chromium-\(UUID().uuidString)")
        // bash hands our stdin and stdout to Chromium as fds 3 and 4. No GPU, and no sandbox
        // (CI runs as root, where Chromium's sandbox can't start). Tabs that are not in front
        // run as if they were: tests running at once each look at their own.
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c",
            "exec \"$0\" \"$@\" 3<&0 4>&1 1>/dev/null 2>/dev/null 0</dev/null",
            path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=\(profile.path)",
            "--window-size=1280,1800", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        commands = input.fileHandleForWriting
        replies = output.fileHandleForReading
        try process.run()
        // (its pid checked first: by then it may be another process's)
        let pid = process.processIdentifier
        whenThisProcessEnds(
            run: "grep -qa '\(profile.path)' /proc/\(pid)/cmdline 2>/dev/null && kill -9 \(pid); rm -rf '\(profile.path)'")
    }

    /// Sends one command and returns its result, skipping the events that come between.
    func call(_ method: String, _ params: [String: Any], session: String?) throws -> [String: Any] {
        try lock.withLock {
            lastID += 1
            var message: [String: Any] = ["id": lastID, "method": method, "params": params]
            if let session { message["sessionId"] = session }
            commands.write(try JSONSerialization.data(withJSONObject: message) + Data([0]))
            let deadline = Date().addingTimeInterval(Self.commandDeadline)
            while true {
                let reply = try nextMessage(before: deadline, method)
                guard reply["id"] as? Int == lastID else { continue }
                if let error = reply["error"] as? [String: Any] {
                    throw BrowserError("\(method): \(error["message"] ?? error)")
                }
                return reply["result"] as? [String: Any] ?? [:]
            }
        }
    }

    private func nextMessage(before deadline: Date, _ method: String) throws -> [String: Any] {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let message = buffer[buffer.startIndex..<end]
                buffer = Data(buffer[(end + 1)...])
                return try JSONSerialization.jsonObject(with: message) as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else {
                kill(process.processIdentifier, SIGKILL)
                throw BrowserError("\(method): no answer from Chromium in \(Int(Self.commandDeadline)) s; killed it")
            }
            var ready = pollfd(fd: replies.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, Int32(min(left, 1) * 1000)) > 0 else { continue }
            let chunk = replies.availableData
            guard !chunk.isEmpty else { throw BrowserError("Chromium closed its pipe") }
            buffer += chunk
        }
    }
}

struct BrowserError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
