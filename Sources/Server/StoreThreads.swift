/// The dashboard's store work, on threads of its own. Reading the store blocks its thread
/// until the file or the server answers; on Swift's cooperative pool (two threads on a
/// 2-core machine) two slow reads would stall every page and event stream. Here a slow query
/// holds one of these threads, and each thread has its own connection to a PostgreSQL store,
/// so the other pages go on.
import Foundation
import Store
import Synchronization

final class StoreThreads: Sendable {
    /// The database served; a PostgreSQL store is opened once per thread and kept.
    let location: String
    let isServer: Bool
    private let size: Int
    private let queue = Mutex(Queue())
    private let ready = NSCondition()

    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var threads = 0
        var idle = 0
    }

    /// Four threads: the runs page, a run page and the event streams of two open tabs each
    /// get one at once; more requests wait their turn in order.
    init(location: String, size: Int = 4) {
        self.location = location
        self.isServer = Store.isURL(location)
        self.size = size
    }

    /// Runs `body` on one of the threads and returns what it returned.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        ready.lock()
        let startsThread = queue.withLock { queue in
            queue.jobs.append(job)
            // Each waiting thread takes one job; more jobs than that need another thread.
            guard queue.jobs.count > queue.idle, queue.threads < size else { return false }
            queue.threads += 1
            return true
        }
        ready.signal()
        ready.unlock()
        if startsThread {
            let thread = Thread { [self] in work() }
            thread.name = "mnistlab store"
            thread.start()
        }
    }

    private func work() {
        while true {
            ready.lock()
            var job: (@Sendable () -> Void)?
            while job == nil {
                job = queue.withLock { queue in
                    queue.jobs.isEmpty ? nil : queue.jobs.removeFirst()
                }
                if job == nil {
                    queue.withLock { $0.idle += 1 }
                    ready.wait()
                    queue.withLock { $0.idle -= 1 }
                }
            }
            ready.unlock()
            job?()
        }
    }

    /// Runs `body` on the store, read-only, on the calling thread (one of these): the
    /// thread's own connection to a PostgreSQL store, opened at its first use and again after
    /// it failed, or the SQLite file opened for the call and closed after.
    func withStore<T>(_ body: (Store) throws -> T) throws -> T {
        guard isServer else {
            let store = try Store.open(location: location, readOnly: true)
            defer { try? store.close() }
            return try body(store)
        }
        let slot = Thread.current.threadDictionary
        let store: Store
        if let kept = slot[location] as? Store {
            store = kept
        } else {
            // No waiting out an outage: a page answers 503 at once, and the next request
            // connects again.
            store = try Store.open(location: location, readOnly: true, reconnectWindow: 0)
            slot[location] = store
        }
        do {
            return try body(store)
        } catch let error as StoreError where [.connection, .connectionLost].contains(error.kind) {
            slot[location] = nil
            throw error
        }
    }
}
