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
        case let error?:
            ServeProcess.fail("Cannot serve on \(request.host) port \(request.port): \(error).")
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
