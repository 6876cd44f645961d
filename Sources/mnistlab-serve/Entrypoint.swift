/// `mnistlab-serve`: the dashboard's server, which `mnistlab serve` becomes (see
/// `ServeProcess` for why it is a program of its own).
import Dispatch
import Foundation
import MNISTLabCLI
import Server

@main
struct Entrypoint {
    static func main() {
        let request = ServeProcess.request()
        ServeProcess.dieOnStopSignals()
        let dashboard = Dashboard(
            databaseLocation: request.databaseLocation, dataDirectory: request.dataDirectory)
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        // Detached: `main` runs on the main actor, which the wait below blocks.
        Task.detached {
            do {
                try await dashboard.run(host: request.host, port: request.port) { url in
                    ServeProcess.say("Serving \(dashboard.shownLocation) at \(url) (Ctrl-C stops it)")
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
            ServeProcess.fail(
                "--host must be an IPv4 or IPv6 address, or localhost; got '\(request.host)'.")
        case let error as ListenError:
            ServeProcess.fail("Cannot serve on \(request.host) port \(request.port): " + listenAdvice(error))
        case let error?:
            ServeProcess.fail("Cannot serve on \(request.host) port \(request.port): \(error).")
        }
    }
}

/// Why the address can't be listened on, and what to do instead.
private func listenAdvice(_ error: ListenError) -> String {
    switch error.errno {
    case EADDRINUSE: "another program listens there; pick another --port (0 picks a free one)."
    case EADDRNOTAVAIL: "no network interface of this machine has that address; --host must be one of its addresses (0.0.0.0 for all)."
    case EACCES: "permission denied; ports below 1024 need privileges, so pick a --port from 1024 up."
    default: error.reason.prefix(1).lowercased() + error.reason.dropFirst() + "."
    }
}

/// The error that ended the server, set by its task, read once it has signalled.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ error: any Error) { lock.withLock { self.error = error } }
    func get() -> (any Error)? { lock.withLock { error } }
}
