import TestSupport
import Testing

@testable import Sweeps

/// ASHA's promotion rule on constructed rung results.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct PromotionTests {
    let ladder = try! RungLadder(maxEpochs: 81)  // rungs at 3, 9, 27, 81; η = 3

    /// Results at `rung` for trials 1…, with these losses, every trial paused there.
    func rung(_ rung: Int, _ losses: [Double], from first: Int = 1) -> AshaSnapshot {
        let results = losses.enumerated().map {
            RungResult(trial: first + $0, rung: rung, valLoss: $1)
        }
        return AshaSnapshot(
            results: results,
            paused: Dictionary(uniqueKeysWithValues: results.map { ($0.trial, rung) }))
    }

    @Test func theBestOfTheTopThirdIsPromotedFirst() {
        // Given 6 trials paused at rung 0: the top ⌊6/3⌋ = 2 are trials 4 (0.1) and 2 (0.2)
        let snapshot = rung(0, [0.5, 0.2, 0.9, 0.1, 0.3, 0.7])

        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 4, from: 0))
    }

    @Test func aPromotedTrialIsNotPromotedAgainAndOnlyTheTopThirdEverIs() {
        // Given the same rung with trial 4 promoted (now training) and then trial 2 too
        var snapshot = rung(0, [0.5, 0.2, 0.9, 0.1, 0.3, 0.7])
        snapshot.results[3].promoted = true
        snapshot.paused[4] = nil
        snapshot.running = 1

        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 2, from: 0))

        snapshot.results[1].promoted = true
        snapshot.paused[2] = nil
        snapshot.running = 2
        // Then nothing else at rung 0 is good enough: with trials training, wait
        #expect(Promotion.decide(snapshot, ladder: ladder) == .wait)
        // and with pending trials, start the lowest-numbered one
        snapshot.pending = [9, 7, 8]
        #expect(Promotion.decide(snapshot, ladder: ladder) == .start(trial: 7))
    }

    @Test func equalLossesRankByTrialNumber() {
        // Given three trials with the same loss: ⌊3/3⌋ = 1 promotion, the lowest number
        let snapshot = rung(0, [0.25, 0.25, 0.25], from: 5)

        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 5, from: 0))
    }

    @Test func aNaNLossRanksLast() {
        let snapshot = rung(0, [.nan, 3, 2])

        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 3, from: 0))
    }

    @Test func higherRungsArePromotedFirst() {
        // Given a promotable trial at rung 0 and one at rung 1
        var snapshot = rung(0, [0.5, 0.4, 0.3])
        snapshot.results += (11...13).map { RungResult(trial: $0, rung: 1, valLoss: Double($0)) }
        for t in 11...13 { snapshot.paused[t] = 1 }

        // Then the scan from the top promotes trial 11 to rung 2 first
        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 11, from: 1))
    }

    @Test func aLateArrivalInTheTopIsPromotedAndEarlierPromotionsStand() {
        // Given 3 results at rung 0, the best (trial 1) already promoted
        var snapshot = rung(0, [0.3, 0.5, 0.6])
        snapshot.results[0].promoted = true
        snapshot.paused[1] = nil
        #expect(Promotion.decide(snapshot, ladder: ladder) == .finish(pruned: [2, 3]))

        // When two worse trials arrive (5 results: still 1 promotion, trial 1's)
        snapshot.results += [
            RungResult(trial: 4, rung: 0, valLoss: 0.7), RungResult(trial: 5, rung: 0, valLoss: 0.8),
        ]
        snapshot.paused[4] = 0
        snapshot.paused[5] = 0
        #expect(Promotion.decide(snapshot, ladder: ladder) == .finish(pruned: [2, 3, 4, 5]))

        // and then a sixth, better than all: ⌊6/3⌋ = 2, so it joins the top and is promoted
        snapshot.results.append(RungResult(trial: 6, rung: 0, valLoss: 0.1))
        snapshot.paused[6] = 0
        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 6, from: 0))
    }

    @Test func aLateArrivalCanPushAPromotedTrialOutOfTheTopWithoutUndoingIt() {
        // Given trial 1 promoted from 3 results, then trial 4 better than it arrives
        var snapshot = rung(0, [0.3, 0.5, 0.6, 0.1])
        snapshot.results[0].promoted = true
        snapshot.paused[1] = nil

        // Then the top ⌊4/3⌋ = 1 is trial 4 now: it is promoted too
        #expect(Promotion.decide(snapshot, ladder: ladder) == .promote(trial: 4, from: 0))
    }

    @Test func aRungThatNeverFillsPromotesNobodyAndItsTrialsArePrunedAtTheEnd() {
        // Given 2 results at rung 0 with η = 3: ⌊2/3⌋ = 0
        var snapshot = rung(0, [0.1, 0.2])
        snapshot.running = 1
        #expect(Promotion.decide(snapshot, ladder: ladder) == .wait)

        snapshot.running = 0
        #expect(Promotion.decide(snapshot, ladder: ladder) == .finish(pruned: [1, 2]))
    }

    @Test func anEmptySweepIsOver() {
        #expect(Promotion.decide(AshaSnapshot(), ladder: ladder) == .finish(pruned: []))
    }

    /// One worker running a whole sweep by the rule, each trial's loss at epoch e being
    /// quality / e (so rankings hold across rungs, with ties), and each decision checked
    /// against the rule as the paper states it.
    @Test(arguments: [1, 2, 3])
    func aWholeSweepReachesExactlyTheRungsTheRuleAllows(workers: Int) throws {
        // Given 27 trials of up to 81 epochs, rungs at 3, 9, 27, 81
        let quality: [Int: Double] = Dictionary(
            uniqueKeysWithValues: (1...27).map { ($0, Double(($0 * 7) % 10 + 1)) })
        var snapshot = AshaSnapshot(pending: Array(1...27))
        var training: [(trial: Int, rung: Int)] = []  // jobs in flight, the oldest first
        var trained = [Int: Int]()  // epochs each trial trained
        var pruned: [Int] = []

        func arrive(_ job: (trial: Int, rung: Int)) {
            let epoch = ladder.epochs[job.rung]
            snapshot.running -= 1
            snapshot.results.append(
                RungResult(trial: job.trial, rung: job.rung, valLoss: quality[job.trial]! / Double(epoch)))
            if job.rung < ladder.top { snapshot.paused[job.trial] = job.rung }
        }

        // When `workers` workers take jobs until the rule says the sweep is over
        var steps = 0
        loop: while steps < 10_000 {
            steps += 1
            if training.count == workers { arrive(training.removeFirst()) }
            switch Promotion.decide(snapshot, ladder: ladder) {
            case .promote(let trial, let from):
                // The rule's own statement: in the top ⌊n/η⌋ at its rung, paused, not promoted
                let reached = snapshot.results.filter { $0.rung == from }.sorted(by: RungResult.ranks)
                let top = reached.prefix(reached.count / 3).map(\.trial)
                #expect(top.contains(trial) && snapshot.paused[trial] == from)
                let k = try #require(snapshot.results.firstIndex { $0.trial == trial && $0.rung == from })
                #expect(!snapshot.results[k].promoted)
                snapshot.results[k].promoted = true
                snapshot.paused[trial] = nil
                snapshot.running += 1
                trained[trial, default: 0] += ladder.epochs[from + 1] - ladder.epochs[from]
                training.append((trial, from + 1))
            case .start(let trial):
                snapshot.pending.removeAll { $0 == trial }
                snapshot.running += 1
                trained[trial, default: 0] += ladder.epochs[0]
                training.append((trial, 0))
            case .wait:
                #expect(!training.isEmpty)
                arrive(training.removeFirst())
            case .finish(let prunedTrials):
                pruned = prunedTrials
                break loop
            }
        }

        // Then every trial reached rung 0, and at each rung the final top ⌊n/η⌋ went on
        #expect(training.isEmpty && snapshot.running == 0)
        for rung in 0..<ladder.top {
            let reached = snapshot.results.filter { $0.rung == rung }.sorted(by: RungResult.ranks)
            let next = Set(snapshot.results.filter { $0.rung == rung + 1 }.map(\.trial))
            #expect(Set(reached.filter(\.promoted).map(\.trial)) == next)
            for r in reached.prefix(reached.count / 3) { #expect(r.promoted, "rung \(rung)") }
        }
        #expect(snapshot.results.filter { $0.rung == 0 }.count == 27)
        // each trial trained once up to its highest rung, no epoch twice
        for (trial, epochs) in trained {
            let highest = snapshot.results.filter { $0.trial == trial }.map(\.rung).max()!
            #expect(epochs == ladder.epochs[highest])
        }
        // the trials left paused are exactly the pruned, and the best trial finished
        #expect(pruned == snapshot.paused.keys.sorted())
        #expect(snapshot.results.contains { $0.rung == ladder.top && quality[$0.trial] == 1 })
        // and the sweep cost at most a third of training all 27 to the end
        #expect(trained.values.reduce(0, +) * 3 <= 27 * 81)
    }
}
