import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// SIGINT, SIGTERM and SIGHUP stop a run cleanly at any point: status `interrupted`, exit
/// 128 + signal, and a resume that ends exactly where an uninterrupted run ends. A closed
/// output (SIGPIPE) never stops one.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct SignalTests {
    enum Moment: String, CaseIterable, CustomTestStringConvertible {
        /// Just after the run row exists, before any epoch finished.
        case beforeFirstEpoch
        /// Right after epoch 2's line is printed (mid-epoch 3).
        case midRun
        /// On the fourth observed write to the WAL: inside or just after an early epoch's commit.
        case duringCommit

        var testDescription: String { rawValue }
    }

    @Test(arguments: [SIGINT, SIGTERM], Moment.allCases)
    func signalStopsCleanlyAndResumesExactly(signal: Int32, moment: Moment) throws {
        // Given a training run
        let sandbox = try Sandbox()
        let expected = reference
        let process = try Background(sandbox, Plan.train, label: "train")

        // When the signal arrives at that moment
        switch moment {
        case .beforeFirstEpoch:
            #expect(process.waitForLines("run 1 ("))
        case .midRun:
            #expect(process.waitForLines("epoch ", count: 2))
        case .duringCommit:
            #expect(process.waitForLines("run 1 ("))
            var wal = WALWatcher(database: sandbox.database)
            var writes = 0
            #expect(process.wait { if wal.changed() { writes += 1 }; return writes == 4 })
        }
        #expect(process.send(signal))
        let ending = process.wait()

        // Then it exits 128 + signal with the run interrupted and the database whole
        #expect(ending == .exit(128 + signal), "\(ending): \(process.stderr)")
        #expect(process.stderr.isEmpty, "\(process.stderr)")
        #expect(process.stdout.contains("run 1 interrupted"))
        #expect(try sandbox.status(runID: 1) == "interrupted")
        #expect(try sandbox.value("SELECT finished_at IS NOT NULL FROM runs WHERE id = 1") == "1")
        try expectConsistentAfterCrash(sandbox, runID: 1, context: "\(signal) \(moment)")

        // And resuming it gives the uninterrupted run's weights and metrics
        do {
            let resumed = try sandbox.run(["resume", "1"])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try sandbox.finalWeights(runID: 1) == expected.weights)
            #expect(try sandbox.metrics(runID: 1) == expected.metrics)
        }
    }

    @Test func secondSignalStopsAtOnceAndTheRunStillResumes() throws {
        // Given a training run past its first epoch
        let sandbox = try Sandbox()
        let expected = reference
        let process = try Background(sandbox, Plan.train, label: "train")
        #expect(process.waitForLines("epoch "))

        // When Ctrl-C is pressed twice
        process.send(SIGINT)
        process.send(SIGINT)
        let ending = process.wait()

        // Then it stopped (cleanly or at once), and the run is interrupted and resumable
        #expect(ending == .signal(SIGINT) || ending == .exit(130), "\(ending)")
        try expectConsistentAfterCrash(sandbox, runID: 1, context: "double SIGINT")
        #expect(try sandbox.status(runID: 1) == "interrupted")
        let resumed = try sandbox.run(["resume", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try sandbox.finalWeights(runID: 1) == expected.weights)
    }

    @Test func signalDuringAResumeStopsItCleanlyToo() throws {
        // Given a run interrupted once and being resumed
        let sandbox = try Sandbox()
        let expected = reference
        let first = try Background(sandbox, Plan.train, label: "train")
        #expect(first.waitForLines("epoch "))
        first.send(SIGTERM)
        #expect(first.wait() == .exit(143))
        let resume = try Background(sandbox, ["resume", "1"], label: "resume")

        // When the resume is stopped after one more epoch
        #expect(resume.waitForLines("epoch "))
        resume.send(SIGTERM)

        // Then it ends interrupted in place, and a second resume completes it exactly
        #expect(resume.wait() == .exit(143), "\(resume.stderr)")
        #expect(try sandbox.status(runID: 1) == "interrupted")
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "1")
        #expect(try sandbox.run(["resume", "1"]).status == 0)
        #expect(try sandbox.finalWeights(runID: 1) == expected.weights)
        #expect(try sandbox.metrics(runID: 1) == expected.metrics)
    }

    @Test func hangUpStopsCleanlyLikeInterrupt() throws {
        // Given a training run past its first epoch
        let sandbox = try Sandbox()
        let process = try Background(sandbox, Plan.train, label: "train")
        #expect(process.waitForLines("epoch "))

        // When its terminal goes away
        #expect(process.send(SIGHUP))
        let ending = process.wait()

        // Then it stops between batches: exit 129, the run interrupted and resumable
        #expect(ending == .exit(128 + SIGHUP), "\(ending): \(process.stderr)")
        #expect(process.stdout.contains("run 1 interrupted"))
        #expect(try sandbox.status(runID: 1) == "interrupted")
        try expectConsistentAfterCrash(sandbox, runID: 1, context: "SIGHUP")
        #expect(try sandbox.run(["resume", "1"]).status == 0)
        #expect(try sandbox.status(runID: 1) == "completed")
    }

    @Test func closedOutputDoesNotStopTraining() throws {
        // Given a training run whose output is read by a reader that stops after one line,
        // as `mnistlab train | head -1` does
        let sandbox = try Sandbox()
        let process = sandbox.launch(Plan.train)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let deadline = ChildDeadline(process, seconds: Sandbox.commandDeadline)
        let firstLine = stdout.fileHandleForReading.availableData
        try stdout.fileHandleForReading.close()
        // Standard error closed as well, as `2>&1 | head -1` would.
        try stderr.fileHandleForReading.close()

        // When the run writes its next lines into the closed pipes
        process.waitUntilExit()
        deadline.cancel()

        // Then it trained to the end, dropping its output: exit 0 and the run completed
        #expect(String(decoding: firstLine, as: UTF8.self).hasPrefix("run 1 ("))
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(try sandbox.status(runID: 1) == "completed")
        #expect(try sandbox.value("SELECT max(epoch) FROM epochs") == "\(Plan.epochs)")
    }
}
