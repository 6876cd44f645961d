/// This process's write transactions, behind one gate that a stop can close.
///
/// A process stopped inside a write transaction keeps its locks for as long as it stays
/// stopped: SQLite's write lock, PostgreSQL's row and advisory locks. Every other writer of the
/// store then waits, and on SQLite fails after `Timeouts.sqliteBusy` with "database is locked",
/// a takeover of the stopped process's run too, though its lease has long expired.
/// `Store.holdingWrites` runs its body (the CLI stops the process there on Ctrl-Z) once no
/// write transaction of this process is open, and none begins until the body returns.
import Foundation

final class WriteGate: @unchecked Sendable {
    /// The one gate of the process: a process stops as a whole, whichever store it writes to.
    static let shared = WriteGate()

    /// Guards `open` and `held`.
    private let condition = NSCondition()
    /// Write transactions open now.
    private var open = 0
    /// Whether a `holding` body runs or waits to: new transactions wait for it, so that a
    /// steady stream of them can't keep it out.
    private var held = false

    /// Runs one write transaction, once no `holding` body runs or waits.
    func passing<T>(_ transaction: () throws -> T) rethrows -> T {
        condition.lock()
        while held { condition.wait() }
        open += 1
        condition.unlock()
        defer {
            condition.lock()
            open -= 1
            condition.broadcast()
            condition.unlock()
        }
        return try transaction()
    }

    /// Runs `body` once no write transaction is open, and lets none begin before it returns.
    func holding<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        while held { condition.wait() }
        held = true
        while open > 0 { condition.wait() }
        condition.unlock()
        defer {
            condition.lock()
            held = false
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}

extension Store {
    /// Runs `body` while no write transaction of this process is open, on any store, and none
    /// can begin: a process that stops itself in `body` holds no lock of any store while it is
    /// stopped, so other processes go on writing and may take its runs over once their
    /// leases expire. Waits for the transactions open now to end (at most one busy timeout or
    /// reconnect window each).
    public static func holdingWrites<T>(_ body: () throws -> T) rethrows -> T {
        try WriteGate.shared.holding(body)
    }
}
