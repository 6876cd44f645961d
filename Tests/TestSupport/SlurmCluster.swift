/// A throwaway single-node Slurm cluster for the tests: `munged` with a key of its own,
/// `slurmctld` and `slurmd` with a generated `slurm.conf` (reached through SLURM_CONF) in a
/// temporary directory, on free loopback ports, this host as the one node with 2 CPUs. Every
/// daemon it started is stopped by `stop()`, at exit, or by a watchdog if the test process
/// is killed.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public final class SlurmCluster: @unchecked Sendable {
    /// Whether the Slurm tests run: under CI (`CI=true`) always, so that a cluster that
    /// cannot start fails them; elsewhere when Slurm and munge are installed and this runs
    /// as root (slurmd starts jobs as their users, munged runs as `munge`).
    public static var isAvailable: Bool { isRequired || unavailableReason == nil }

    /// Why the Slurm tests are skipped, or nil.
    public static let unavailableReason: String? = {
        if getuid() != 0 { return "the Slurm tests start slurmd and munged, which needs root" }
        let missing = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch"].filter {
            program($0) == nil
        }
        return missing.isEmpty
            ? nil
            : "Slurm is not installed (no \(missing.joined(separator: ", ")); .ci/run installs slurm-wlm and munge)"
    }()

    private static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"

    /// This host as Slurm names it: `hostname -s`.
    public let node: String
    /// The temporary directory holding slurm.conf, the daemons' state, spool and logs.
    public let directory: URL
    /// SLURM_CONF, for every Slurm command (and the mnistlab that runs sbatch).
    public var environment: [String: String] { ["SLURM_CONF": path("slurm.conf")] }

    private let lock = NSLock()
    private var stopped = false

    public init() throws {
        if let reason = Self.unavailableReason { throw ServerError(reason) }
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        node = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: ".").first.map(String.init) ?? "localhost"
        directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("mnistlab-slurm-\(UUID().uuidString.prefix(8))")
        for folder in ["munge", "state", "spool", "log"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        startWatchdog()
        Self.exitLock.lock()
        if Self.running.isEmpty { atexit { SlurmCluster.stopAll() } }
        Self.running.append(self)
        Self.exitLock.unlock()
        do {
            try startMunge()
            try configuration().write(toFile: path("slurm.conf"), atomically: true, encoding: .utf8)
            try PostgresServer.run(try Self.require("slurmctld"), ["-f", path("slurm.conf")])
            try PostgresServer.run(try Self.require("slurmd"), ["-f", path("slurm.conf"), "-N", node])
            try waitUntilIdle()
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Runs a Slurm command (`sbatch`, `scancel`, `scontrol`, `squeue`) against this cluster;
    /// its standard output, or a throw with its last line of standard error.
    @discardableResult
    public func run(_ command: String, _ arguments: [String]) throws -> String {
        try PostgresServer.run(try Self.require(command), arguments, environment: environment)
    }

    /// The states of the jobs still known to the controller (`squeue`): "ID STATE" each,
    /// array tasks as `ARRAY_TASK`.
    public func queue() throws -> [String] {
        try run("squeue", ["-h", "-o", "%i %T"]).split(separator: "\n").map(String.init)
    }

    /// `scontrol show job ID` as its KEY=VALUE fields.
    public func job(_ id: String) throws -> [String: String] {
        let text = try run("scontrol", ["show", "job", id])
        var fields: [String: String] = [:]
        for word in text.split(whereSeparator: \.isWhitespace) {
            let pair = word.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        return fields
    }

    /// The last lines of slurmctld's and slurmd's logs, for a failure's message: what Slurm
    /// did goes with the cluster's directory when it stops.
    public func logTail(lines: Int = 25) -> String {
        ["slurmctld", "slurmd"].map { daemon in
            let text = (try? String(contentsOfFile: path("log/\(daemon).log"), encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n").suffix(lines).joined(separator: "\n")
            return "\(daemon).log:\n\(tail)"
        }.joined(separator: "\n")
    }

    /// A file in the cluster's directory.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Cancels every job, stops slurmctld and slurmd (and any job step left), then munged;
    /// idempotent.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        if let jobs = try? run("squeue", ["-h", "-o", "%A"]), !jobs.isEmpty {
            _ = try? run("scancel", ["--full"] + jobs.split(separator: "\n").map(String.init))
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, (try? queue().isEmpty) == false { usleep(200_000) }
        }
        _ = try? run("scontrol", ["shutdown"])
        for daemon in ["slurmctld.pid", "slurmd.pid"] { Self.end(pidFile: path(daemon)) }
        Self.end(pidFile: path("munge/munged.pid"))
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Starting

    private func startMunge() throws {
        let munge = path("munge")
        // munged wants its key readable by itself alone, and its socket's directory open to
        // every user (each job's processes talk to it).
        try PostgresServer.run("/bin/chown", ["munge:munge", munge])
        try PostgresServer.run("/bin/chmod", ["0755", munge])
        try asMunge(try Self.require("mungekey"), ["--create", "--keyfile=\(munge)/munge.key"])
        try asMunge(
            try Self.require("munged"),
            [
                "--socket=\(munge)/munge.socket", "--key-file=\(munge)/munge.key",
                "--log-file=\(munge)/munged.log", "--pid-file=\(munge)/munged.pid",
                "--seed-file=\(munge)/munged.seed",
            ])
    }

    private func asMunge(_ executable: String, _ arguments: [String]) throws {
        try PostgresServer.run("/usr/sbin/runuser", ["-u", "munge", "--", executable] + arguments)
    }

    /// slurm.conf: ports of its own, state and spool in the temporary directory, no cgroups
    /// (proctrack/linuxproc, task/none), no accounting, and a 5-second KillWait, so a job
    /// that ignored SIGTERM would be killed soon.
    private func configuration() throws -> String {
        """
        ClusterName=mnistlabtest
        SlurmctldHost=\(node)
        SlurmctldPort=\(try PostgresServer.freePort())
        SlurmdPort=\(try PostgresServer.freePort())
        AuthType=auth/munge
        CredType=cred/munge
        AuthInfo=socket=\(path("munge/munge.socket"))
        SlurmUser=root
        SlurmdUser=root
        StateSaveLocation=\(path("state"))
        SlurmdSpoolDir=\(path("spool"))
        SlurmctldPidFile=\(path("slurmctld.pid"))
        SlurmdPidFile=\(path("slurmd.pid"))
        SlurmctldLogFile=\(path("log/slurmctld.log"))
        SlurmdLogFile=\(path("log/slurmd.log"))
        ProctrackType=proctrack/linuxproc
        TaskPlugin=task/none
        SelectType=select/cons_tres
        SelectTypeParameters=CR_CPU
        SchedulerType=sched/backfill
        JobCompType=jobcomp/none
        AccountingStorageType=accounting_storage/none
        JobAcctGatherType=jobacct_gather/none
        MpiDefault=none
        ReturnToService=2
        KillWait=5
        MinJobAge=600
        InactiveLimit=0
        NodeName=\(node) CPUs=2 State=UNKNOWN
        PartitionName=test Nodes=\(node) Default=YES MaxTime=INFINITE State=UP

        """
    }

    /// Waits (up to 60 s) until the node has registered and is idle.
    private func waitUntilIdle() throws {
        let deadline = Date().addingTimeInterval(60)
        var state = ""
        while Date() < deadline {
            state = (try? run("sinfo", ["-h", "-N", "-o", "%t"]))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if state == "idle" { return }
            usleep(200_000)
        }
        throw ServerError(
            "the Slurm node \(node) did not become idle within 60 s (state '\(state)'); see \(path("log"))")
    }

    /// Stops the daemons once this process is gone, should it be killed.
    private func startWatchdog() {
        let pidFiles = ["slurmctld.pid", "slurmd.pid", "munge/munged.pid"]
            .map { "'\(path($0))'" }.joined(separator: " ")
        whenThisProcessEnds(
            run: """
                for f in \(pidFiles); do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
                sleep 2
                for f in \(pidFiles); do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
                rm -rf '\(directory.path)'
                """)
    }

    // MARK: - Helpers

    /// Sends SIGTERM to the process in `pidFile`, then SIGKILL if it is still there 10 s later.
    private static func end(pidFile: String) {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
        else { return }
        guard kill(pid, SIGTERM) == 0 else { return }
        let deadline = Date().addingTimeInterval(10)
        // A daemon whose parent is an init that does not reap it stays a zombie once ended.
        func runs() -> Bool { kill(pid, 0) == 0 && (try? ProcessSnapshot(pid))?.isZombie != true }
        while Date() < deadline, runs() { usleep(100_000) }
        if runs() { kill(pid, SIGKILL) }
    }

    private static func program(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return (path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin"])
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func require(_ name: String) throws -> String {
        guard let found = program(name) else { throw ServerError("\(name) is not installed") }
        return found
    }

    private static func stopAll() {
        exitLock.lock()
        let clusters = running
        exitLock.unlock()
        for cluster in clusters { cluster.stop() }
    }

    /// Every cluster started in this process, stopped at exit. Guarded by `exitLock`.
    nonisolated(unsafe) private static var running: [SlurmCluster] = []
    private static let exitLock = NSLock()
}
