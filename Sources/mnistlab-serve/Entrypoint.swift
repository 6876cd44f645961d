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
        do {
            try dashboard.run(
                host: request.host, port: request.port, allowing: request.allowedHosts
            ) { url in
                ServeProcess.say("Serving \(dashboard.shownLocation) at \(url) (Ctrl-C stops it)")
            }
        } catch is HostError {
            ServeProcess.fail(
                "--host must be an IPv4 or IPv6 address, or localhost; got '\(request.host)'.")
        } catch let error as ListenError {
            ServeProcess.fail("Cannot serve on \(request.host) port \(request.port): " + listenAdvice(error))
        } catch {
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
