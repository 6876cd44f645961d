/// `mnistlab` processes running in the background (to signal, kill or race them) and the
/// SQL helpers the CLI and reliability tests share.
import Foundation

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A `mnistlab` process running while the test watches it; output goes to files, so a long
/// run can never block on a full pipe.
public final class Background {
    public let process: Process
    public let stdoutPath: String
    public let stderrPath: String

    public init(
        _ sandbox: Sandbox, _ arguments: [String], label: String,
        environment: [String: String] = [:]
    ) throws {
        process = sandbox.launch(arguments, environment: environment)
        stdoutPath = sandbox.path("\(label).out")
        stderrPath = sandbox.path("\(label).err")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    public var pid: pid_t { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal`; false when the process had already exited.
    @discardableResult
    public func send(_ signal: Int32) -> Bool {
        guard process.isRunning else { return false }
        return kill(pid, signal) == 0
    }

    /// Waits for the exit, `seconds` at the most: the exit status, or the signal that ended
    /// it; a process still running at the deadline is killed and reported as `.stillRunning`,
    /// which no expectation accepts, so a stalled child fails its test instead of hanging it.
    @discardableResult
    public func wait(seconds: Double = 300) -> Ending {
        guard wait(until: { false }, seconds: seconds) || !process.isRunning else {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return .stillRunning(after: seconds)
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
            ? .signal(process.terminationStatus) : .exit(process.terminationStatus)
    }

    /// Polls `condition` every millisecond until it holds, the process exits, or `seconds`
    /// pass; true if it held.
    public func wait(until condition: () -> Bool, seconds: Double = 120) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline {
            if condition() { return true }
            usleep(1_000)
        }
        return condition()
    }

    /// Waits until the process has printed `count` lines starting with `prefix`.
    public func waitForLines(_ prefix: String, count: Int = 1) -> Bool {
        wait(until: { stdout.split(separator: "\n").filter { $0.hasPrefix(prefix) }.count >= count })
    }
}

public enum Ending: Equatable, CustomStringConvertible {
    case exit(Int32)
    case signal(Int32)
    /// Still running at the deadline of `Background.wait(seconds:)`, and killed there.
    case stillRunning(after: Double)

    public var description: String {
        switch self {
        case .exit(let code): "exit \(code)"
        case .signal(let number): "signal \(number)"
        case .stillRunning(let seconds): "still running after \(seconds) s (killed)"
        }
    }
}

/// `mnistlab sql` failed where the test needed its rows.
public struct SQLFailure: Error, CustomStringConvertible {
    public let description: String
}

extension Sandbox {
    /// The rows of `query` through `mnistlab sql --csv`, without the header; throws (failing
    /// the test) with the error when the statement fails.
    public func rows(_ query: String) throws -> [String] {
        let output = try run(["sql", "--csv", query])
        guard output.status == 0 else {
            throw SQLFailure(description: "sql failed: \(query): \(output.stderr)")
        }
        return Array(output.lines.dropFirst())
    }

    /// The first row of `query`, nil when there is none.
    public func value(_ query: String) throws -> String? { try rows(query).first }

    /// The run's status as the tool shows it: `run_summary`'s, which reads a run whose lease
    /// expired as it is, and on this machine also one whose process is gone.
    public func status(runID: Int64) throws -> String? {
        let shown = try run(["show", "\(runID)", "--json"])
        let object = try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))
        let run = (object as? [String: Any])?["run"] as? [String: Any]
        return run?["status"] as? String
    }

    /// A path inside the sandbox's directory.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// SQL for `column` (a blob) as upper-case hexadecimal, in this sandbox's dialect
    /// (SQLite's hex(), PostgreSQL's encode()), so that bytes compare across stores.
    public func hex(_ column: String) -> String {
        store == .postgres ? "upper(encode(\(column), 'hex'))" : "hex(\(column))"
    }
}
