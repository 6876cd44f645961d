/// ASHA's promotion rule as published (Li et al., MLSys 2020, Algorithm 2, `get_job`), as a
/// value: what a worker looking for work in a sweep should do next, given where every trial
/// stands. The store gathers an `AshaSnapshot` and applies the decision in one transaction, so
/// two workers never promote the same trial.
///
///     for k = top − 1, …, 1, 0:                    scan the rungs from the top down
///         candidates = best ⌊n_k / η⌋ of the n_k trials that reached rung k
///         promotable = candidates paused at rung k and not promoted yet
///         if promotable ≠ ∅: promote its best to rung k + 1
///     else start the next new trial at rung 0
///     else, while some trial trains, wait (its result may make a promotion possible)
///     else the sweep is over: the trials still paused are pruned
///
/// "Best" is the lowest validation loss at the rung's epoch, ties broken by trial number, and
/// a NaN loss ranks last. A trial promoted once stays promoted even if later arrivals at its
/// rung push it out of the top ⌊n / η⌋ (the paper's rule: promotions are never undone), and a
/// late arrival good enough for the top is promoted when it comes. A rung that never gets η
/// results promotes nobody.
public enum Promotion {
    /// Decides the next job for a sweep whose rungs are `ladder` and whose trials stand as
    /// `snapshot` says.
    public static func decide(_ snapshot: AshaSnapshot, ladder: RungLadder) -> AshaDecision {
        for rung in stride(from: ladder.top - 1, through: 0, by: -1) {
            if let trial = promotable(at: rung, snapshot, ladder) {
                return .promote(trial: trial, from: rung)
            }
        }
        if let next = snapshot.pending.min() { return .start(trial: next) }
        if snapshot.running > 0 { return .wait }
        return .finish(pruned: snapshot.paused.keys.sorted())
    }

    /// The best trial of the top ⌊n / η⌋ at `rung` that is paused there and not promoted yet.
    static func promotable(at rung: Int, _ snapshot: AshaSnapshot, _ ladder: RungLadder) -> Int? {
        let reached = snapshot.results.filter { $0.rung == rung }.sorted(by: RungResult.ranks)
        return reached.prefix(ladder.promotions(reached: reached.count)).first {
            !$0.promoted && snapshot.paused[$0.trial] == rung
        }?.trial
    }
}

/// Where a sweep's trials stand, as the promotion rule needs it.
public struct AshaSnapshot: Equatable, Sendable {
    /// One result per rung each trial reached.
    public var results: [RungResult]
    /// The trials paused at a rung (trial number → rung), waiting to be promoted or pruned.
    public var paused: [Int: Int]
    /// The numbers of the trials not started yet.
    public var pending: [Int]
    /// How many trials are training now.
    public var running: Int

    public init(
        results: [RungResult] = [], paused: [Int: Int] = [:], pending: [Int] = [], running: Int = 0
    ) {
        self.results = results
        self.paused = paused
        self.pending = pending
        self.running = running
    }
}

/// A trial's result at a rung it reached: its validation loss at the rung's epoch.
public struct RungResult: Equatable, Sendable {
    public var trial: Int
    public var rung: Int
    public var valLoss: Double
    /// Whether the trial was promoted from this rung to the next.
    public var promoted: Bool

    public init(trial: Int, rung: Int, valLoss: Double, promoted: Bool = false) {
        self.trial = trial
        self.rung = rung
        self.valLoss = valLoss
        self.promoted = promoted
    }

    /// Better first: lower loss, then lower trial number; NaN after every number.
    static func ranks(_ a: RungResult, _ b: RungResult) -> Bool {
        switch (a.valLoss.isNaN, b.valLoss.isNaN) {
        case (false, true): true
        case (true, false): false
        case (false, false) where a.valLoss != b.valLoss: a.valLoss < b.valLoss
        default: a.trial < b.trial
        }
    }
}

/// What a worker does next in an ASHA sweep.
public enum AshaDecision: Equatable, Sendable {
    /// Resume this paused trial's run in place, from rung `from`'s epoch to the next rung's.
    case promote(trial: Int, from: Int)
    /// Start this pending trial at rung 0.
    case start(trial: Int)
    /// Nothing to do now, but trials are training: look again later.
    case wait
    /// The sweep is over; these paused trials are pruned (their runs can still be resumed by
    /// hand, exactly).
    case finish(pruned: [Int])
}
