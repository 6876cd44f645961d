/// A throwaway PostgreSQL server for the tests: a copy of the process's one initdb in a
/// temporary directory, a free loopback port, SCRAM passwords over TCP and peer
/// authentication on its Unix socket (as Debian sets a server up), started once per test
/// process on first use and stopped when the process ends, however it ends.
import Foundation

/// The test process's PostgreSQL server. `PostgresServer.shared` starts it the first time.
public final class PostgresServer: Sendable {
    /// The server, started on first use; throws the reason it could not start.
    public static var shared: PostgresServer {
        get throws { try started.get() }
    }

    /// Whether PostgreSQL tests run. Under CI (`CI=true`) always, so that a server that can't
    /// start fails them rather than hiding them; elsewhere only when the server started.
    public static var isAvailable: Bool {
        isRequired || (try? started.get()) != nil
    }

    /// Why the suites are off, for `.enabled(if:)`'s comment.
    public static var unavailableReason: String {
        do {
            _ = try started.get()
            return "PostgreSQL is available"
        } catch {
            return "no PostgreSQL server for the tests (set CI=true to make this a failure): \(error)"
        }
    }

    private static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"
    private static let started = Result { try PostgresServer() }

    /// A server of the caller's own, not shared with other tests: for tests that restart or
    /// stop it while other suites use `shared`. It stops when the process ends.
    public static func dedicated() throws -> PostgresServer { try PostgresServer() }

    /// A server of the caller's own with more `settings` in postgresql.conf (e.g. `ssl = on`)
    /// and `files` written into its data directory first, readable by the server alone
    /// (a TLS key must be); `hba` lines go first in pg_hba.conf (e.g. `hostssl all lab
    /// 127.0.0.1/32 cert`), before initdb's, which let the superuser in by password.
    public static func dedicated(
        settings: String, files: [String: Data], hba: [String] = []
    ) throws -> PostgresServer {
        try PostgresServer(settings: settings, files: files, hba: hba)
    }

    /// The superuser's name and password (SCRAM-SHA-256).
    public let user = superuser
    private static let superuser = "mnistlab"
    public let password: String
    public let port: Int
    /// The temporary directory holding the data directory, the socket and the log.
    public let directory: URL
    /// The directory of the server's Unix socket (`.s.PGSQL.<port>`).
    public var socketDirectory: String { directory.path }
    private let binaries: URL
    private var dataDirectory: String { directory.appendingPathComponent("data").path }
    private var logFile: String { directory.appendingPathComponent("server.log").path }

    /// One initdb per test process, which every server's data directory is a copy of (an
    /// initdb cost about a CPU-second, once per server): its directory (holding `data`) and
    /// the superuser's password, the same for every server of the process.
    private static let template = Result { () throws -> (directory: URL, password: String) in
        let binaries = try findBinaries()
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("mnistlab-pg-template-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        whenThisProcessEnds(run: "rm -rf '\(directory.path)'")
        let passwordFile = directory.appendingPathComponent("password").path
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        // PostgreSQL refuses to run as root: the server's files belong to `postgres` then.
        if runsAsRoot { try run("/bin/chown", ["-R", "postgres", directory.path]) }
        try run(
            binaries.appendingPathComponent("initdb").path,
            [
                "-D", directory.appendingPathComponent("data").path, "-U", superuser,
                "--auth-host=scram-sha-256", "--auth-local=peer", "--pwfile=\(passwordFile)",
                "-E", "UTF8", "--no-locale", "--no-sync",
            ], asServerUser: true)
        return (directory, password)
    }

    private init(settings extraSettings: String = "", files: [String: Data] = [:], hba: [String] = []) throws {
        binaries = try Self.findBinaries()
        port = try Self.freePort()
        let template = try Self.template.get()
        password = template.password
        directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("mnistlab-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if Self.runsAsRoot { try Self.run("/bin/chown", ["postgres", directory.path]) }
        // (cp -a keeps the files' owner, postgres, and the data directory's mode, 0700)
        try Self.run(
            "/bin/cp", ["-a", template.directory.appendingPathComponent("data").path, dataDirectory])
        // In postgresql.conf rather than on pg_ctl's command line, so `restart` keeps them.
        let settings = """

            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory.path)'
            fsync = off                 # a test server: speed over durability
            synchronous_commit = off
            full_page_writes = off
            max_connections = 200       # tests open many engines in parallel
            # A test that waits on the server fails instead of hanging the run: no lock is
            # waited for past 2 minutes, and a backend whose client was killed (a command past
            # Sandbox's deadline) stops waiting within a second rather than holding its place
            # in every lock queue for good.
            lock_timeout = '120s'
            client_connection_check_interval = '1s'
            \(extraSettings)
            """
        let conf = FileHandle(forWritingAtPath: dataDirectory + "/postgresql.conf")
        try conf?.seekToEnd()
        try conf?.write(contentsOf: Data(settings.utf8))
        try conf?.close()

        if !hba.isEmpty {
            let path = dataDirectory + "/pg_hba.conf"
            let lines = hba.joined(separator: "\n") + "\n" + (try String(contentsOfFile: path, encoding: .utf8))
            try Data(lines.utf8).write(to: URL(fileURLWithPath: path))
        }
        for (name, contents) in files {
            let path = dataDirectory + "/" + name
            try contents.write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            if Self.runsAsRoot { try Self.run("/bin/chown", ["postgres", path]) }
        }

        try pgctl(["start", "-w", "-t", "60", "-l", logFile])
        startWatchdog()
        // (The watchdog removes the directory once the process is gone: removing thousands
        // of files here held the process's exit back by tens of seconds on a disk that
        // discards each freed block at once.)
        let stop: @Sendable () -> Void = { [dataDirectory, binaries] in
            _ = try? Self.run(
                binaries.appendingPathComponent("pg_ctl").path,
                ["-D", dataDirectory, "-m", "immediate", "stop"], asServerUser: true)
        }
        Self.exitLock.lock()
        if Self.stopsAtExit.isEmpty { atexit { PostgresServer.stopAll() } }
        Self.stopsAtExit.append(stop)
        Self.exitLock.unlock()
    }

    private static func stopAll() {
        exitLock.lock()
        let stops = stopsAtExit
        exitLock.unlock()
        for stop in stops { stop() }
    }

    /// `postgres://mnistlab:PW@127.0.0.1:PORT/<database>?sslmode=disable`.
    public func url(database: String) -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// A new, empty database; returns its URL.
    public func createDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql("CREATE DATABASE \(name)", database: "postgres")
        return url(database: name)
    }

    /// Runs `sql` through psql as the superuser; returns what it printed (unaligned, no
    /// headers). Throws with psql's message when it fails.
    @discardableResult
    public func psql(_ sql: String, database: String) throws -> String {
        try Self.run(
            binaries.appendingPathComponent("psql").path,
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", String(port), "-U", user, "-d", database, "-c", sql,
            ], environment: ["PGPASSWORD": password])
    }

    /// Stops the server (fast: sessions are cut off), for tests of a server that is down.
    public func stop() throws {
        try pgctl(["stop", "-m", "fast", "-w", "-t", "60"])
    }

    /// Starts a server that `stop` stopped, on the same port.
    public func start() throws {
        try pgctl(["start", "-w", "-t", "60", "-l", logFile])
    }

    /// Stops the server (fast: sessions are cut off) and starts it again on the same port,
    /// for tests of lost connections.
    public func restart() throws {
        try pgctl(["restart", "-m", "fast", "-w", "-t", "60", "-l", logFile])
    }

    private func pgctl(_ arguments: [String]) throws {
        try Self.run(
            binaries.appendingPathComponent("pg_ctl").path, ["-D", dataDirectory] + arguments,
            asServerUser: true)
    }

    /// Stops the server once this process is gone, should it be killed.
    private func startWatchdog() {
        let stop = Self.serverCommand(
            binaries.appendingPathComponent("pg_ctl").path,
            ["-D", dataDirectory, "-m", "immediate", "stop"])
        let quoted = stop.map { "'\($0)'" }.joined(separator: " ")
        whenThisProcessEnds(
            run: """
                \(quoted) >/dev/null 2>&1
                rm -rf '\(directory.path)'
                """)
    }

    /// What stops each server this process started, run at exit. Guarded by `exitLock`.
    nonisolated(unsafe) private static var stopsAtExit: [@Sendable () -> Void] = []
    private static let exitLock = NSLock()

    private static let runsAsRoot = getuid() == 0

    /// initdb's directory: the one on PATH (through any symlink), else the newest
    /// /usr/lib/postgresql/N/bin.
    private static func findBinaries() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":") {
            let initdb = URL(fileURLWithPath: String(folder)).appendingPathComponent("initdb")
            if FileManager.default.isExecutableFile(atPath: initdb.path) {
                return initdb.resolvingSymlinksInPath().deletingLastPathComponent()
            }
        }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = URL(fileURLWithPath: "\(root)/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) {
                return bin
            }
        }
        throw ServerError("initdb was found neither on PATH nor under \(root)/*/bin")
    }

    /// A port nothing listens on now: the kernel's pick for a socket bound to port 0.
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServerError("cannot create a socket to find a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(socket, address, length) == 0 && getsockname(socket, address, &length) == 0
            }
        }
        guard bound else { throw ServerError("cannot bind a loopback socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The command line that runs `executable` as the server's user.
    private static func serverCommand(_ executable: String, _ arguments: [String]) -> [String] {
        runsAsRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments
            : [executable] + arguments
    }

    /// Runs a program to its end; returns its standard output, or throws with its last line
    /// of standard error when it fails.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], asServerUser: Bool = false,
        environment: [String: String] = [:]
    ) throws -> String {
        let command = asServerUser ? serverCommand(executable, arguments) : [executable] + arguments
        // Files, not pipes, and posix_spawn + waitpid rather than Process: the server that
        // `pg_ctl start` leaves running inherits the child's descriptors, and neither a pipe
        // nor Process's wait (here) then ever sees the end.
        let outputFile = NSTemporaryDirectory() + "mnistlab-pg-\(UUID().uuidString).out"
        let errorFile = outputFile + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outputFile)
            try? FileManager.default.removeItem(atPath: errorFile)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of this process's: the server `pg_ctl start` leaves running would hold
        // every descriptor open here at the time, among them the write ends of the pipes
        // through which other tests read their commands' output, which then never ended.
        // (glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module
        // does not declare.)
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let closeFrom = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"),
            unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3) == 0
        else { throw ServerError("cannot keep this process's descriptors from \(command[0]) (glibc 2.34 or newer needed)") }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .map { "\($0.key)=\($0.value)" }
        let argv = command.map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw ServerError("cannot start \(command[0]): \(String(cString: strerror(spawned)))")
        }
        // pg_ctl waits 60 s at most (-t); psql's statements wait 2 minutes at most for a lock.
        let deadline = ChildDeadline(pid: pid, seconds: 300)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        deadline.cancel()
        let outputText = FileManager.default.contents(atPath: outputFile) ?? Data()
        let errorText = FileManager.default.contents(atPath: errorFile) ?? Data()
        // Exited normally (no signal) with status 0.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let message = String(decoding: errorText, as: UTF8.self)
                .split(whereSeparator: \.isNewline).last.map(String.init) ?? "no message"
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw ServerError("\(name) failed (wait status \(status)): \(message)")
        }
        return String(decoding: outputText, as: UTF8.self)
    }
}

/// Why the test server could not start or do what was asked.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
