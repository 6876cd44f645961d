/// ASHA's rungs (Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys
/// 2020): the epochs at which a trial stops to be compared with the others.
///
///     R, R·η, R·η², …   while below the most epochs E, then E itself
///
/// R is the minimum resource (`--min-epochs`), η the reduction factor (`--reduction-factor`)
/// and E `--epochs`. With the defaults η = 3 and R = max(1, ⌊E / η³⌋), E = 81 gives rungs at
/// 3, 9, 27 and 81 epochs: four rungs, each keeping about a third of the trials before it.
public struct RungLadder: Equatable, Sendable {
    /// The epoch of each rung, from rung 0: strictly increasing, the last one `maxEpochs`.
    public let epochs: [Int]
    /// η: a rung promotes the best ⌊n / η⌋ of the n trials that reached it.
    public let reductionFactor: Int

    public static let defaultReductionFactor = 3

    /// R = max(1, ⌊E / η³⌋): four rungs when E is a multiple of η³, as in the paper's figures.
    public static func defaultMinEpochs(maxEpochs: Int, reductionFactor: Int) -> Int {
        let cube = reductionFactor.multipliedReportingOverflow(by: reductionFactor)
        let (eta3, overflow) = cube.partialValue.multipliedReportingOverflow(by: reductionFactor)
        guard !cube.overflow, !overflow else { return 1 }
        return max(1, maxEpochs / eta3)
    }

    public init(
        maxEpochs: Int, minEpochs: Int? = nil,
        reductionFactor: Int = RungLadder.defaultReductionFactor
    ) throws(AshaError) {
        guard reductionFactor >= 2 else { throw .reductionFactorTooSmall(reductionFactor) }
        let r =
            minEpochs
            ?? Self.defaultMinEpochs(maxEpochs: maxEpochs, reductionFactor: reductionFactor)
        guard r >= 1 else { throw .minEpochsNotPositive(r) }
        guard r < maxEpochs else { throw .minEpochsNotBelowEpochs(minEpochs: r, epochs: maxEpochs) }
        var epochs = [Int]()
        var epoch = r
        while epoch < maxEpochs {
            epochs.append(epoch)
            let (next, overflow) = epoch.multipliedReportingOverflow(by: reductionFactor)
            if overflow { break }
            epoch = next
        }
        epochs.append(maxEpochs)
        self.epochs = epochs
        self.reductionFactor = reductionFactor
    }

    /// The last rung: a trial that reaches it has trained every epoch and is complete.
    public var top: Int { epochs.count - 1 }

    /// The rung whose epoch is `epoch`, if any.
    public func rung(at epoch: Int) -> Int? { epochs.firstIndex(of: epoch) }

    /// How many of the n trials that reached a rung it promotes: ⌊n / η⌋.
    public func promotions(reached n: Int) -> Int { n / reductionFactor }

    /// The highest rung that any of `trials` can reach: each rung passes on ⌊n / η⌋ of the n
    /// that reached it, so the last rung takes at least η^top trials.
    public func highestRung(reachableBy trials: Int) -> Int {
        var (rung, reached) = (0, trials)
        while rung < top, promotions(reached: reached) > 0 {
            reached = promotions(reached: reached)
            rung += 1
        }
        return rung
    }

    /// η^top: the fewest trials of which one can reach the last rung (Int.max past it).
    public var trialsForTheLastRung: Int {
        (0..<top).reduce(1) { product, _ in
            let (next, overflow) = product.multipliedReportingOverflow(by: reductionFactor)
            return overflow ? .max : next
        }
    }
}

/// Why a rung ladder cannot be made; the CLI words each case with the flag to change.
public enum AshaError: Error, Equatable, Sendable {
    /// η < 2: every trial would be promoted (η = 1) or none could be compared.
    case reductionFactorTooSmall(Int)
    case minEpochsNotPositive(Int)
    /// R ≥ E: there would be no rung below the last, so nothing to prune.
    case minEpochsNotBelowEpochs(minEpochs: Int, epochs: Int)
}
