/// What Linux's /proc says of a process at one instant: its state, the signals waiting for
/// it, its CPU time and resident memory.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public struct ProcessSnapshot: Sendable {
    /// The state letter of /proc/PID/stat (its main thread's): R running, S sleeping, T
    /// stopped, Z zombie, ….
    public var state: Character
    /// The state letter of each of its threads (/proc/PID/task/*/stat).
    public var threadStates: [Character]
    /// User + system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Resident memory, in bytes.
    public var rssBytes: Int
    /// The signals pending for the process or any of its threads (ShdPnd | SigPnd), as a mask
    /// whose bit n - 1 is signal n.
    public var pendingSignals: UInt64

    /// Throws once `pid` is gone.
    public init(_ pid: pid_t) throws {
        let fields = try Self.statFields("/proc/\(pid)/stat")
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        // state is field 3, utime 14, stime 15.
        guard fields.count > 12, let state = fields[0].first else {
            throw ServerError("bad /proc/\(pid)/stat")
        }
        self.state = state
        let tasks = "/proc/\(pid)/task"
        threadStates = try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap { thread in
            try? Self.statFields("\(tasks)/\(thread)/stat").first?.first
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks
        var values: [Substring: Substring] = [:]
        for line in status.split(separator: "\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            if pair.count == 2 { values[pair[0]] = pair[1].drop { $0 == " " || $0 == "\t" } }
        }
        rssBytes = (Int(values["VmRSS"]?.split(separator: " ").first ?? "") ?? 0) * 1024
        pendingSignals = ["ShdPnd", "SigPnd"].reduce(0) { mask, field in
            mask | (values[Substring(field)].flatMap { UInt64($0, radix: 16) } ?? 0)
        }
    }

    /// Stopped by SIGSTOP (or another stop signal), every thread of it: kill() returns before
    /// the process has stopped, and a thread inside a system call finishes it first, so only
    /// then does a look at what the process holds (a lock, a transaction) hold still.
    public var isStopped: Bool { !threadStates.isEmpty && threadStates.allSatisfy { $0 == "T" } }

    /// Exited, and not yet reaped by its parent.
    public var isZombie: Bool { state == "Z" }

    /// The fields of a /proc `stat` file after the command's name, which may hold spaces and
    /// parentheses: from the state on.
    private static func statFields(_ path: String) throws -> [Substring] {
        let stat = try String(contentsOfFile: path, encoding: .utf8)
        guard let close = stat.lastIndex(of: ")") else { throw ServerError("bad \(path)") }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Whether `signal` waits to be delivered.
    public func isPending(_ signal: Int32) -> Bool {
        pendingSignals & (1 << UInt64(signal - 1)) != 0
    }
}
