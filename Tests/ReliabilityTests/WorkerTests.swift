import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Sweeps across workers: every trial is trained once, a killed worker's trial is taken over
/// and ends bit for bit as if nothing had happened, Ctrl-C gives a trial back, and a worker
/// that lost its lease moves on without writing.
@Suite(.serialized) struct WorkerTests {
    /// A 3-trial grid of quick runs, created without training (`--detach`).
    static let grid = [
        "sweep", "--learning-rate", "0.05,0.1,0.2", "--hidden", "16", "--epochs", "40",
        "--val-size", "200", "--batch-size", "50", "--keep-every", "1000",
    ]
    static let lease = ["MNISTLAB_LEASE_SECONDS": "2"]

    /// Each trial's number, run, status and final weights (hex of the last checkpoint).
    func outcome(_ sandbox: Sandbox) throws -> [String] {
        try sandbox.rows(
            """
            SELECT t.number, t.status, hex(c.weights) FROM trials t
            JOIN run_summary s ON s.id = t.run_id
            LEFT JOIN checkpoints c ON c.run_id = t.run_id AND c.epoch = s.last_epoch
            ORDER BY t.number
            """)
    }

    /// The same grid trained by one worker, start to end.
    func reference() throws -> [String] {
        let sandbox = try Sandbox()
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let worker = try sandbox.run(["worker"])
        #expect(worker.status == 0, "\(worker.stderr)")
        return try outcome(sandbox)
    }

    @Test func racingWorkersTrainEveryTrialOnce() throws {
        // Given a detached sweep
        let sandbox = try Sandbox()
        let created = try sandbox.run(Self.grid + ["--detach"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.hasPrefix("sweep 1: 3 trials"), "\(created.stdout)")

        // When three workers start at once
        let workers = try (1...3).map {
            try Background(sandbox, ["worker", "--sweep", "1"], label: "w\($0)")
        }

        // Then all exit 0, and each trial has exactly one run, trained once
        for worker in workers { #expect(worker.wait() == .exit(0), "\(worker.stderr)") }
        #expect(try sandbox.rows("SELECT number, status, attempts FROM trials ORDER BY number")
            == ["1,completed,1", "2,completed,1", "3,completed,1"])
        #expect(try sandbox.value("SELECT count(*) FROM runs WHERE sweep_id = 1") == "3")
        #expect(try outcome(sandbox) == (try reference()))
    }

    @Test func killedWorkersTrialIsResumedExactlyByAnother() throws {
        // Given a worker killed outright in the middle of its first trial
        let sandbox = try Sandbox()
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let doomed = try Background(
            sandbox, ["worker", "--lease-seconds", "2"], label: "doomed", environment: Self.lease)
        #expect(doomed.waitForLines("epoch ", count: 5), "\(doomed.stderr)")
        doomed.send(SIGKILL)
        #expect(doomed.wait() == .signal(SIGKILL))

        // When another worker starts
        let survivor = try sandbox.run(["worker", "--lease-seconds", "2"], environment: Self.lease)

        // Then it takes the trial over (a second attempt, the same run) and finishes the
        // sweep with the weights of an uninterrupted one
        #expect(survivor.status == 0, "\(survivor.stderr)")
        #expect(survivor.stdout.contains("trial 1/3 of sweep 1 (attempt 2)"), "\(survivor.stdout)")
        #expect(try sandbox.rows("SELECT number, attempts FROM trials ORDER BY number")
            == ["1,2", "2,1", "3,1"])
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "3")
        #expect(try outcome(sandbox) == (try reference()))
    }

    @Test func ctrlCGivesTheTrialBackForAnotherWorker() throws {
        // Given a worker interrupted in the middle of its first trial
        let sandbox = try Sandbox()
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let first = try Background(sandbox, ["worker"], label: "first")
        #expect(first.waitForLines("epoch ", count: 3), "\(first.stderr)")
        first.send(SIGINT)

        // Then it exits 130 with the trial pending again and its run interrupted
        #expect(first.wait() == .exit(130), "\(first.stderr)")
        #expect(try sandbox.rows("SELECT t.status, r.status FROM trials t JOIN runs r ON r.id = t.run_id")
            == ["pending,interrupted"])

        // And the next worker continues that same run at once, without waiting for a lease
        let next = try sandbox.run(["worker"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout.contains("resumed after epoch"), "\(next.stdout)")
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "3")
        #expect(try outcome(sandbox) == (try reference()))
    }

    @Test func workerThatLostItsLeaseWritesNothingAndMovesOn() throws {
        // Given a worker frozen (outside a transaction) past its 2 s lease
        let sandbox = try Sandbox()
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let frozen = try Background(
            sandbox, ["worker", "--lease-seconds", "2"], label: "frozen", environment: Self.lease)
        #expect(frozen.waitForLines("epoch ", count: 3), "\(frozen.stderr)")
        try RunOwnershipTests().freezeOutsideATransaction(frozen, database: sandbox.database)
        defer { frozen.send(SIGKILL) }

        // When another worker takes its trial over and finishes the sweep
        usleep(2_500_000)
        let taker = try Background(
            sandbox, ["worker", "--lease-seconds", "2"], label: "taker", environment: Self.lease)
        #expect(taker.waitForLines("trial 1/3 of sweep 1 (attempt 2)"), "\(taker.stdout)")
        frozen.send(SIGCONT)

        // Then the frozen one says it lost the run and ends cleanly; nothing is trained twice
        #expect(frozen.wait() == .exit(0), "\(frozen.stderr)")
        #expect(frozen.stderr.contains("taken over by another"), "\(frozen.stderr)")
        #expect(taker.wait() == .exit(0), "\(taker.stderr)")
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "3")
        #expect(try sandbox.value(
            "SELECT count(*) = max(epoch) FROM epochs e JOIN trials t ON t.run_id = e.run_id WHERE t.number = 1") == "1")
        #expect(try outcome(sandbox) == (try reference()))
    }

    @Test func divergingTrialFailsOnceAndIsNotRetried() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run([
            "sweep", "--learning-rate", "0.1,1e30", "--activation", "relu", "--hidden", "16",
            "--epochs", "2", "--val-size", "200", "--batch-size", "50",
        ])
        #expect(output.status == 1)
        #expect(output.stderr.contains("1 of 2 trials of sweep 1 failed"), "\(output.stderr)")
        #expect(try sandbox.rows("SELECT number, status, attempts, coalesce(failure_reason LIKE '%NaN%', 0) FROM trials ORDER BY number")
            == ["1,completed,1,0", "2,failed,1,1"])
    }
}
