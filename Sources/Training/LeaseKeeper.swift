import Dispatch
import Store
import Synchronization

/// Renews a lease every `renewalInterval` on a background queue while an epoch trains, so a
/// run whose epochs take longer than the lease stays held. Once a renewal finds the run
/// claimed by another process, `isLost` turns true for good and renewals stop.
///
/// Other failures (the database busy for longer than its timeout) are left to the next epoch
/// commit, which renews the lease too and reports its own error.
final class LeaseKeeper {
    private let timer = DispatchSource.makeTimerSource(
        queue: DispatchQueue(label: "mnistlab.lease-keeper"))
    private let lost = Flag()

    init(store: Store, lease: Lease) {
        let interval = DispatchTimeInterval.milliseconds(Int(lease.renewalInterval * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [lost] in
            guard !lost.isSet else { return }
            do {
                try store.renewLease(lease)
            } catch let error as StoreError where error.kind == .leaseLost(runID: lease.runID) {
                lost.set()
            } catch {}
        }
        timer.resume()
    }

    var isLost: Bool { lost.isSet }

    func stop() { timer.cancel() }

    private final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
        func set() { value.store(true, ordering: .relaxed) }
    }
}
