import TestSupport
import Testing

@testable import Store

/// The lost-connection rules on their own: no socket, no server, times given as numbers.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct ConnectionRecoveryTests {
    @Test func refusedStatementFailsAsItIs() {
        // Given
        var recovery = ConnectionRecovery(window: 30)

        // When / Then
        #expect(recovery.statementFailed(lost: false, stage: .beforeCommit, at: 0) == .fail)
        #expect(recovery.statementFailed(lost: false, stage: .commit, at: 0) == .fail)
        #expect(recovery.outageStarted == nil)
    }

    @Test func connectionLostBeforeCommitRunsTheTransactionAgain() {
        // Given
        var recovery = ConnectionRecovery(window: 30)

        // When
        let action = recovery.statementFailed(lost: true, stage: .beforeCommit, at: 100)

        // Then
        #expect(action == .retryTransaction)
        #expect(recovery.outageStarted == 100)
    }

    @Test func connectionLostDuringCommitIsNeverRetried() {
        // Given
        var recovery = ConnectionRecovery(window: 30)

        // When
        let action = recovery.statementFailed(lost: true, stage: .commit, at: 100)

        // Then
        #expect(action == .outcomeUnknown)
    }

    @Test func reconnectingBacksOffAndAnnouncesOncePerOutage() {
        // Given an outage that began at 0
        var recovery = ConnectionRecovery(window: 30)
        _ = recovery.statementFailed(lost: true, stage: .beforeCommit, at: 0)

        // When connecting keeps failing with a passing failure
        var actions: [ConnectionRecovery.Action] = []
        var now = 0.0
        for _ in 0..<5 {
            let action = recovery.connectFailed(passing: true, at: now)
            actions.append(action)
            if case .reconnect(let pause, _) = action { now += pause }
        }

        // Then the pauses double from 50 ms, and only the first is announced
        #expect(
            actions == [
                .reconnect(after: 0.05, announce: true), .reconnect(after: 0.1, announce: false),
                .reconnect(after: 0.2, announce: false), .reconnect(after: 0.4, announce: false),
                .reconnect(after: 0.8, announce: false),
            ])
    }

    @Test func pausesStopGrowingAtTwoSeconds() {
        // Given
        var recovery = ConnectionRecovery(window: 1000)
        var last = ConnectionRecovery.Action.fail

        // When
        for k in 0..<20 { last = recovery.connectFailed(passing: true, at: Double(k)) }

        // Then
        #expect(last == .reconnect(after: 2, announce: false))
    }

    @Test func outageLongerThanTheWindowGivesUp() {
        // Given an outage that began at 0, with a 30 s window
        var recovery = ConnectionRecovery(window: 30)
        _ = recovery.statementFailed(lost: true, stage: .beforeCommit, at: 0)

        // When a connection attempt fails at 29.99 s (the next pause would end past 30 s)
        let late = recovery.connectFailed(passing: true, at: 29.99)

        // Then
        #expect(late == .giveUp)
        #expect(recovery.gaveUp)
    }

    @Test func afterGivingUpEachTransactionTriesOnceWithoutWaiting() {
        // Given an outage that outlasted the window
        var recovery = ConnectionRecovery(window: 30)
        _ = recovery.connectFailed(passing: true, at: 0)
        _ = recovery.connectFailed(passing: true, at: 31)

        // When the next transaction (marking the run, renewing a lease) fails to connect
        let next = recovery.connectFailed(passing: true, at: 32)

        // Then it fails at once, rather than waiting a window of its own
        #expect(next == .giveUp)
    }

    @Test func lastingFailureIsNotWaitedOn() {
        // Given
        var recovery = ConnectionRecovery(window: 30)

        // When a wrong password, a dropped database or a failed certificate check
        let action = recovery.connectFailed(passing: false, at: 0)

        // Then
        #expect(action == .giveUp)
    }

    @Test func connectingAgainEndsTheOutage() {
        // Given an outage that was given up on
        var recovery = ConnectionRecovery(window: 30)
        _ = recovery.connectFailed(passing: true, at: 0)
        _ = recovery.connectFailed(passing: true, at: 40)

        // When the server answers again, and later goes away again
        recovery.connected()
        let lost = recovery.statementFailed(lost: true, stage: .beforeCommit, at: 100)
        let retry = recovery.connectFailed(passing: true, at: 100)

        // Then the new outage gets its own window, announced again
        #expect(recovery.outageStarted == 100)
        #expect(lost == .retryTransaction)
        #expect(retry == .reconnect(after: 0.05, announce: true))
    }

    @Test func zeroWindowTriesOnce() {
        // Given the dashboard's window
        var recovery = ConnectionRecovery(window: 0)

        // When
        let action = recovery.connectFailed(passing: true, at: 0)

        // Then
        #expect(action == .giveUp)
    }
}
