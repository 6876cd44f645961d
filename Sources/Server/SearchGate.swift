/// The bounds on searches a client writes (`/api/runs?where=…`): any web page the user opens
/// can send one (a cross-origin GET needs no permission), so each runs within `limits` (`Timeouts.dashboardSearch`,
/// values of at most 1 MiB: run_summary's own are far smaller) and at most `limit` run at
/// once; the next is refused with 503 at once, so the store's readers stay free for the pages.
import Store
import Synchronization

final class SearchGate: Sendable {
    /// What a search may take of the store before it is stopped (400).
    let limits: StatementLimits
    /// Searches that may run at once.
    let limit: Int
    private let running = Mutex(0)

    init(
        limits: StatementLimits = StatementLimits(
            seconds: Timeouts.dashboardSearch, valueBytes: 1 << 20),
        limit: Int = 2
    ) {
        self.limits = limits
        self.limit = limit
    }

    /// `body`, if fewer than `limit` searches are running; otherwise a 503.
    func run<T>(_ body: () throws -> T) throws -> T {
        let admitted = running.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw HTTPError(503, "\(limit) searches are running already; try again when they have finished.")
        }
        defer { running.withLock { $0 -= 1 } }
        return try body()
    }
}
