import TestSupport
import Testing

@testable import Sweeps

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct RungLadderTests {
    @Test(arguments: [
        (81, nil, 3, [3, 9, 27, 81]),
        (10, nil, 3, [1, 3, 9, 10]),
        (100, nil, 3, [3, 9, 27, 81, 100]),
        (30, 2, 2, [2, 4, 8, 16, 30]),
        (5, 1, 10, [1, 5]),
        (2, nil, 3, [1, 2]),
        (Int.max, Int.max / 2, 3, [Int.max / 2, Int.max]),
    ] as [(Int, Int?, Int, [Int])])
    func rungsAreAtRTimesPowersOfEtaAndAtTheLastEpoch(
        epochs: Int, minEpochs: Int?, eta: Int, rungs: [Int]
    ) throws {
        let ladder = try RungLadder(maxEpochs: epochs, minEpochs: minEpochs, reductionFactor: eta)

        #expect(ladder.epochs == rungs)
        #expect(ladder.top == rungs.count - 1)
    }

    @Test func theDefaultMinimumIsEpochsOverEtaCubedAtLeastOne() {
        #expect(RungLadder.defaultMinEpochs(maxEpochs: 81, reductionFactor: 3) == 3)
        #expect(RungLadder.defaultMinEpochs(maxEpochs: 80, reductionFactor: 3) == 2)
        #expect(RungLadder.defaultMinEpochs(maxEpochs: 26, reductionFactor: 3) == 1)
        #expect(RungLadder.defaultMinEpochs(maxEpochs: 1_000, reductionFactor: 10) == 1)
        #expect(RungLadder.defaultMinEpochs(maxEpochs: 50, reductionFactor: Int.max) == 1)
    }

    @Test(arguments: [
        (81, nil, 1, AshaError.reductionFactorTooSmall(1)),
        (81, nil, 0, .reductionFactorTooSmall(0)),
        (81, 81, 3, .minEpochsNotBelowEpochs(minEpochs: 81, epochs: 81)),
        (10, 20, 3, .minEpochsNotBelowEpochs(minEpochs: 20, epochs: 10)),
        (1, nil, 3, .minEpochsNotBelowEpochs(minEpochs: 1, epochs: 1)),
        (81, 0, 3, .minEpochsNotPositive(0)),
    ] as [(Int, Int?, Int, AshaError)])
    func aLadderWithoutARungBelowTheLastIsRefused(
        epochs: Int, minEpochs: Int?, eta: Int, error: AshaError
    ) {
        #expect(throws: error) {
            try RungLadder(maxEpochs: epochs, minEpochs: minEpochs, reductionFactor: eta)
        }
    }

    @Test func aRungIsFoundByItsEpoch() throws {
        let ladder = try RungLadder(maxEpochs: 81)

        #expect([3, 9, 27, 81, 4].map(ladder.rung(at:)) == [0, 1, 2, 3, nil])
        #expect([0, 2, 3, 8, 9].map(ladder.promotions(reached:)) == [0, 0, 1, 2, 3])
    }

    @Test func theLastRungTakesEtaToTheTopTrials() throws {
        let ladder = try RungLadder(maxEpochs: 81)  // rungs at 3, 9, 27, 81

        #expect([1, 2, 3, 8, 9, 26, 27, 1000].map(ladder.highestRung(reachableBy:)) == [0, 0, 1, 1, 2, 2, 3, 3])
        #expect(ladder.trialsForTheLastRung == 27)
    }
}
