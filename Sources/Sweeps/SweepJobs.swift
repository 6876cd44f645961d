/// The next job of a sweep that decides its jobs (ASHA, TPE), from the state the store reads
/// in `claimSweepJob`'s transaction: ASHA's promotion rule over its trials when it has rungs,
/// else the next pending trial; a TPE sweep's trials after those written at its creation are
/// added one at a time, each proposed from the results so far when it is started.
import Store

public enum SweepJobs {
    /// The job for `state`; `propose` gives the settings of the sweep's next trial (TPE) when
    /// every trial written so far has started and the sweep has room for more.
    public static func next(
        _ state: SweepState, propose: (SweepState) throws -> String
    ) throws -> SweepJob {
        let trials = state.trials
        let room = trials.count < state.sweep.size
        guard let ladder = try state.sweep.search.ladder else {
            if let pending = trials.first(where: { $0.status == .pending }) {
                return .start(trialID: pending.id)
            }
            if room { return .add(settings: try propose(state)) }
            return trials.contains { $0.status == .running } ? .wait : .finish(pruned: [])
        }
        var snapshot = AshaSnapshot(state)
        // The next trial to add counts as pending: starting it is what the rule may choose.
        let next = (trials.map(\.number).max() ?? 0) + 1
        if room { snapshot.pending.append(next) }
        let id = Dictionary(uniqueKeysWithValues: trials.map { ($0.number, $0.id) })
        switch Promotion.decide(snapshot, ladder: ladder) {
        case .promote(let number, let rung):
            return .promote(trialID: id[number] ?? 0, fromRung: rung)
        case .start(let number) where number == next && room:
            return .add(settings: try propose(state))
        case .start(let number):
            return .start(trialID: id[number] ?? 0)
        case .wait:
            return .wait
        case .finish(let pruned):
            return .finish(pruned: pruned.compactMap { id[$0] })
        }
    }
}

extension SweepSearch {
    /// ASHA's rungs, or nil for a sweep without ASHA.
    public var ladder: RungLadder? {
        get throws(AshaError) {
            guard let reductionFactor, let epochs else { return nil }
            return try RungLadder(
                maxEpochs: epochs, minEpochs: minEpochs, reductionFactor: reductionFactor)
        }
    }
}

extension AshaSnapshot {
    /// Where the sweep's trials stand, by trial number.
    public init(_ state: SweepState) {
        let number = Dictionary(uniqueKeysWithValues: state.trials.map { ($0.id, $0.number) })
        self.init(
            results: state.rungs.compactMap { r in
                number[r.trialID].map {
                    RungResult(trial: $0, rung: r.rung, valLoss: r.valLoss, promoted: r.promotedAt != nil)
                }
            },
            paused: Dictionary(
                uniqueKeysWithValues: state.trials.compactMap { t in
                    t.status == .paused ? t.rung.map { (t.number, $0) } : nil
                }),
            pending: state.trials.filter { $0.status == .pending }.map(\.number),
            running: state.trials.filter { $0.status == .running }.count)
    }
}
