import Store
import TestSupport
import Testing
import Training

@testable import Sweeps

/// What a worker does when its hold on a trial ends, decided without a store.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct TrialStateMachineTests {
    @Test func aCompletedSessionCompletesTheTrial() {
        #expect(
            TrialStateMachine.decide(.session(.completed(runID: 4)), attempts: 1)
                == TrialDecision(status: .completed))
        // A takeover that found every epoch recorded has nothing left to do: also done.
        #expect(
            TrialStateMachine.decide(
                .session(.nothingToDo(runID: 4, lastEpoch: 9, through: 9, stoppedEarly: false)),
                attempts: 2) == TrialDecision(status: .completed))
    }

    @Test func divergenceFailsAtOnceWithoutARetry() {
        let decision = TrialStateMachine.decide(
            .session(.failed(runID: 4, reason: "loss became NaN", lastEpoch: 1)), attempts: 1)
        #expect(decision == TrialDecision(status: .failed, reason: "loss became NaN"))
        #expect(!decision.isRetry)
    }

    @Test func anInterruptedTrialIsGivenBackAndTheWorkerStops() {
        let decision = TrialStateMachine.decide(
            .session(.interrupted(runID: 4, lastEpoch: 2)), attempts: 3)
        #expect(decision == TrialDecision(status: .pending, stopsWorker: true))
        #expect(!decision.isRetry)
    }

    @Test func aLostHoldWritesNothing() {
        #expect(TrialStateMachine.decide(.lostHold, attempts: 1) == TrialDecision(status: nil))
        #expect(
            TrialStateMachine.decide(.session(.leaseLost(runID: 4, lastEpoch: 3)), attempts: 1)
                == TrialDecision(status: nil))
    }

    @Test func anErrorIsRetriedUntilTheLastAttempt() {
        // With the standard policy, 3 attempts in all
        let decisions = (1...3).map {
            TrialStateMachine.decide(.error(reason: "disk full"), attempts: $0)
        }
        #expect(decisions.map(\.status) == [.pending, .pending, .failed])
        #expect(decisions.map(\.reason) == ["disk full", "disk full", "disk full"])
        #expect(decisions.map(\.isRetry) == [true, true, false])
        #expect(decisions.allSatisfy { !$0.stopsWorker })
    }

    @Test func theRetryPolicyCountsTakeoversAsAttempts() {
        let once = RetryPolicy(maxAttempts: 1)
        #expect(!once.retries(afterAttempt: 1))
        #expect(RetryPolicy.standard.retries(afterAttempt: 2))
        #expect(!RetryPolicy.standard.retries(afterAttempt: 3))
        #expect(
            TrialStateMachine.decide(.error(reason: "x"), attempts: 1, policy: once).status
                == .failed)
    }
}
