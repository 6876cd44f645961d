import ArgumentParser
import Dispatch
import Foundation

extension MNISTLab {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a live dashboard of the runs: tables, curves, sweeps, a digit pad.",
            discussion: """
                Prints its URL and serves until Ctrl-C. It only reads the database (opened \
                read-only for each request), so it never blocks or slows a run training into \
                it; a run's page gains each epoch as it is recorded. Pages: / (runs), \
                /runs/ID, /compare?runs=1,2, /sweeps/ID; the JSON API is under /api (see \
                docs/dashboard.md). A run page shows the test images each evaluation got wrong, read \
                from the run's dataset directory, else from --data or where train looks. It listens on the loopback interface unless --host says otherwise: \
                anyone who can reach the port can read every run. It answers only requests \
                addressed to an IP address, localhost or an --allow-host name (pages of other \
                sites can't read it through their own names).

                Examples:
                  mnistlab serve
                  mnistlab serve --port 9000 --db runs.sqlite
                  mnistlab serve --host 0.0.0.0 --port 8080 --allow-host lab.example.org
                """)

        @Option(name: .long, parsing: .unconditional, help: "Port to listen on; 0 picks a free one.")
        var port = 8080

        @Option(name: .long, help: "Address to listen on: an IPv4 or IPv6 address, or localhost.")
        var host = "127.0.0.1"

        @Option(
            name: .customLong("allow-host"),
            help: ArgumentHelp(
                "A host name the dashboard also answers to, besides loopback names and addresses and --host (repeatable; for a reverse proxy's name).",
                valueName: "name"))
        var allowedHosts: [String] = []

        @Option(
            name: .long,
            help: "Directory of the MNIST files, for the test images an evaluation got wrong when a run's own directory lacks them.")
        var data: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            try Check.notEmpty(data, "--data")
            for name in allowedHosts {
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
                else {
                    throw ValidationError("--allow-host takes a host name (letters, digits, '-' and '.'), without scheme or port; got '\(name.prefix(80))'.")
                }
            }
            guard (0...65535).contains(port) else {
                throw ValidationError("Port must be from 0 to 65535; got \(port).")
            }
        }

        func run() throws {
            // Opened once here so a missing or foreign file is one line now, not a 503 later.
            try database.openForReading().close()
            _ = try dataDirectory()
            try ServeProcess.replaceThisProcess()
        }
    }
}

extension MNISTLab.Serve {
    /// Where the run pages look for test images when a run's own directory lacks them: --data
    /// (which must hold the MNIST files), else where `train` would look, else nowhere.
    func dataDirectory() throws -> String? {
        guard let data else { return try? DataLocation.resolve(nil) }
        return try DataLocation.resolve(data)
    }
}

/// `mnistlab serve` runs in a program of its own, `mnistlab-serve`, built beside `mnistlab`:
/// its HTTP server links Foundation's networking library (and curl, TLS, Kerberos… behind
/// it), which would otherwise be loaded by every `mnistlab` command and double the time a
/// fresh process takes to start.
public enum ServeProcess {
    static let executableName = "mnistlab-serve"

    /// Replaces this process with `mnistlab-serve` and the same arguments (same pid, so
    /// signals and the caller's wait behave as if `mnistlab serve` served itself).
    static func replaceThisProcess() throws -> Never {
        let directory = URL(fileURLWithPath: executablePath()).deletingLastPathComponent()
        let server = directory.appendingPathComponent(executableName).path
        guard FileManager.default.isExecutableFile(atPath: server) else {
            throw MNISTLabError(
                "`mnistlab serve` runs \(executableName), which is not beside mnistlab in \(directory.path); `swift build -c release` builds both (`swift run mnistlab` builds mnistlab alone).")
        }
        let arguments = [server] + CommandLine.arguments.dropFirst()
        var argv = arguments.map { strdup($0) } + [nil]
        execv(server, &argv)
        throw MNISTLabError("Cannot start \(server): \(String(cString: strerror(errno))).")
    }

    /// What `mnistlab-serve` is asked to serve, parsed and checked exactly as `mnistlab
    /// serve` parses them; a bad argument ends the process as `mnistlab` would.
    public struct Request: Sendable {
        public var databaseLocation: String
        public var dataDirectory: String?
        public var host: String
        public var port: UInt16
        /// `--allow-host` names.
        public var allowedHosts: [String]
    }

    public static func request() -> Request {
        do {
            let command = try MNISTLab.parseAsRoot()
            guard let serve = command as? MNISTLab.Serve else {
                throw MNISTLabError("\(executableName) only serves: `\(executableName) serve [--port N] [--host H] [--db FILE]`.")
            }
            try serve.database.openForReading().close()
            return Request(
                databaseLocation: try serve.database.location, dataDirectory: try serve.dataDirectory(),
                host: serve.host, port: UInt16(serve.port), allowedHosts: serve.allowedHosts)
        } catch {
            MNISTLab.fail(error)
        }
    }

    /// Ends `mnistlab-serve` with one line for a failure to serve.
    public static func fail(_ message: String) -> Never {
        MNISTLab.fail(MNISTLabError(message))
    }

    /// The signals that stop a run stop the server at once (it never writes, so there is
    /// nothing to finish). A parent that started it from a thread blocking them (Foundation's
    /// Process does) would leave them pending forever: they are unblocked.
    public static func dieOnStopSignals() {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for number in StopSignal.stopping {
            signal(number, SIG_DFL)
            sigaddset(&stopSignals, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
    }

    /// Prints a line on standard output at once (the test harness and scripts wait for it);
    /// if it cannot be written, the server ends as any command does (`StandardOutput`).
    public static func say(_ line: String) { print(line) }
}
