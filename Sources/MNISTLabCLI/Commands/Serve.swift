import ArgumentParser
import Dispatch
import Foundation
import Server

extension MNISTLab {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a live dashboard of the runs: tables, curves, sweeps, a digit pad.",
            discussion: """
                Prints its URL and serves until Ctrl-C. It only reads the database (opened \
                read-only for each request), so it never blocks or slows a run training into \
                it; a run's page gains each epoch as it is recorded. Pages: / (runs), \
                /runs/ID, /compare?runs=1,2, /sweeps/ID; the JSON API is under /api (see \
                README.md). It listens on the loopback interface unless --host says otherwise: \
                anyone who can reach the port can read every run.

                Examples:
                  mnistlab serve
                  mnistlab serve --port 9000 --db runs.sqlite
                  mnistlab serve --host 0.0.0.0 --port 8080
                """)

        @Option(name: .long, help: "Port to listen on; 0 picks a free one.")
        var port = 8080

        @Option(name: .long, help: "Address to listen on: an IPv4 or IPv6 address, or localhost.")
        var host = "127.0.0.1"

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (0...65535).contains(port) else {
                throw ValidationError("Port must be from 0 to 65535; got \(port).")
            }
        }

        func run() throws {
            // Opened once here so a missing or foreign file is one line now, not a 503 later.
            let path = try database.path
            try database.openForReading().close()
            // Ctrl-C, `kill` and a closed terminal end the process (the server never writes,
            // so there is nothing to finish). A parent that started us from a thread blocking
            // them (Foundation's Process does) would leave them pending forever: unblock.
            var stopSignals = sigset_t()
            sigemptyset(&stopSignals)
            for number in StopSignal.stopping {
                signal(number, SIG_DFL)
                sigaddset(&stopSignals, number)
            }
            pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
            let dashboard = Dashboard(databasePath: path)
            let (host, port) = (self.host, UInt16(self.port))
            let done = DispatchSemaphore(value: 0)
            let failure = FailureBox()
            Task {
                do {
                    try await dashboard.run(host: host, port: port) { url in
                        print("Serving \(path) at \(url) (Ctrl-C stops it)")
                        flushStandardOutput()
                    }
                } catch {
                    failure.set(error)
                }
                done.signal()
            }
            done.wait()
            switch failure.get() {
            case nil: return
            case is HostError:
                throw MNISTLabError(
                    "--host must be an IPv4 or IPv6 address, or localhost; got '\(host)'.")
            case let error?:
                throw MNISTLabError("Cannot serve on \(host) port \(port): \(error).")
            }
        }
    }
}

/// The error that ended the server, set by its task, read once it has signalled.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ error: any Error) { lock.withLock { self.error = error } }
    func get() -> (any Error)? { lock.withLock { error } }
}
