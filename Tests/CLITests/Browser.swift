import Foundation
import TestSupport
import Testing

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// commands in on fd 3, replies out on fd 4, each message ended by a NUL byte), so a test can
/// load a page, run script in it, move the mouse and wait for what the page does.
final class Browser {
    private let process = Process()
    private let commands: FileHandle
    private let replies: FileHandle
    private var buffer = Data()
    private var lastID = 0
    private var session: String?
    private let profile: URL
    /// Chromium is killed if it outlives this (a page that never answers would otherwise
    /// block `call` forever); its pipe then closes and the call throws.
    private var deadline: ChildDeadline?

    init(_ chromium: String) throws {
        profile = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnistlab-chromium-\(UUID().uuidString)")
        // bash hands our stdin and stdout to Chromium as fds 3 and 4.
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c",
            "exec \"$0\" \"$@\" 3<&0 4>&1 1>/dev/null 2>/dev/null 0</dev/null",
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=\(profile.path)",
            "--window-size=1280,1800",
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        commands = input.fileHandleForWriting
        replies = output.fileHandleForReading
        try process.run()
        deadline = ChildDeadline(process, seconds: Sandbox.commandDeadline)
    }

    deinit {
        _ = try? call("Browser.close", sessionScoped: false)
        if process.isRunning { process.terminate() }
        process.waitForExit()
        deadline?.cancel()
        try? FileManager.default.removeItem(at: profile)
    }

    /// Opens `url` in a new tab and attaches to it; later calls act on that tab.
    func open(_ url: String) throws {
        let target = try call("Target.createTarget", ["url": url], sessionScoped: false)
        let id = try #require(target["targetId"] as? String)
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

    /// Sends one command and returns its result, skipping the events that come between.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], sessionScoped: Bool = true)
        throws -> [String: Any]
    {
        lastID += 1
        var message: [String: Any] = ["id": lastID, "method": method, "params": params]
        if sessionScoped, let session { message["sessionId"] = session }
        commands.write(try JSONSerialization.data(withJSONObject: message) + Data([0]))
        while true {
            let reply = try nextMessage()
            guard reply["id"] as? Int == lastID else { continue }
            if let error = reply["error"] as? [String: Any] {
                throw BrowserError("\(method): \(error["message"] ?? error)")
            }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    private func nextMessage() throws -> [String: Any] {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let message = buffer[buffer.startIndex..<end]
                buffer = Data(buffer[(end + 1)...])
                return try JSONSerialization.jsonObject(with: message) as? [String: Any] ?? [:]
            }
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
