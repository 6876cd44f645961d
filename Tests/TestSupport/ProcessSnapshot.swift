/// What Linux's /proc says of a process at one instant: its state, the signals waiting for
/// it, its CPU time and resident memory.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public struct ProcessSnapshot: Sendable {
    /// The state letter of /proc/PID/stat: R running, S sleeping, T stopped, Z zombie, ….
    public var state: Character
    /// User + system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Resident memory, in bytes.
    public var rssBytes: Int
    /// The signals pending for the process or any of its threads (ShdPnd | SigPnd), as a mask
    /// whose bit n - 1 is signal n.
    public var pendingSignals: UInt64

    /// Throws once `pid` is gone.
    public init(_ pid: pid_t) throws {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
        guard let close = stat.lastIndex(of: ")") else { throw ServerError("bad /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let state = fields[0].first else {
            throw ServerError("bad /proc/\(pid)/stat")
        }
        self.state = state
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

    /// Stopped by SIGSTOP (or another stop signal).
    public var isStopped: Bool { state == "T" }

    /// Exited, and not yet reaped by its parent.
    public var isZombie: Bool { state == "Z" }

    /// Whether `signal` waits to be delivered.
    public func isPending(_ signal: Int32) -> Bool {
        pendingSignals & (1 << UInt64(signal - 1)) != 0
    }
}
