import TestSupport
import Testing
@testable import Store

/// The durations' rules: one renewal period for lease holders and for waiting workers, and
/// the texts help and errors read.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct TimeoutsTests {
    @Test func aHolderRenewsThreeTimesPerLease() {
        // Given the default lease and the shortest and longest accepted
        for seconds in [Timeouts.lease, Timeouts.leaseRange.lowerBound, Timeouts.leaseRange.upperBound] {
            // Then three renewals fit in one lease, so two may be missed without losing it
            #expect(Timeouts.renewal(lease: seconds) * 3 == seconds)
            #expect(Lease(runID: 1, seconds: seconds).renewalInterval == Timeouts.renewal(lease: seconds))
        }
    }

    @Test func aWaitingWorkerLooksAgainWithinARenewalAndASecond() {
        // A short lease: the worker looks as often as a holder renews, so a dead holder's
        // trial is taken over within a third of a lease after it expires.
        #expect(Timeouts.workerPoll(lease: 0.3) == Timeouts.renewal(lease: 0.3))
        // A long lease: at most a second, so new trials start at once.
        #expect(Timeouts.workerPoll(lease: Timeouts.lease) == Timeouts.workerPollCeiling)
        #expect(Timeouts.workerPoll(lease: 86_400) == 1)
    }

    @Test func theDefaultLeaseIsAccepted() {
        #expect(Timeouts.leaseRange.contains(Timeouts.lease))
    }

    @Test func durationsReadAsHelpWritesThem() {
        #expect(Timeouts.text(30) == "30")
        #expect(Timeouts.text(0.1) == "0.1")
        #expect(Timeouts.text(86_400) == "86400")
        #expect(Timeouts.leaseRangeText == "from 0.1 to 86400")
        #expect(Duration.milliseconds(1500).timeInterval == 1.5)
    }
}
