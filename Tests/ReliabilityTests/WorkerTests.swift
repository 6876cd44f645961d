import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Sweeps across workers, on SQLite and on PostgreSQL: every trial is trained once, a killed
/// worker's trial is taken over and ends bit for bit as if nothing had happened (however many
/// workers die, whenever), Ctrl-C gives a trial back, and a worker that lost its lease moves
/// on without writing. Every sweep must end with the weights of one worker training the same
/// grid alone on SQLite.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct WorkerTests {
    /// A 3-trial grid of quick runs, created without training (`--detach`).
    static let grid = [
        "sweep", "--learning-rate", "0.05,0.1,0.2", "--hidden", "16", "--epochs", "40",
        "--val-size", "200", "--batch-size", "50", "--keep-every", "1000",
    ]
    static let lease = ["MNISTLAB_LEASE_SECONDS": "2"]

    /// Each trial's number, status and final weights (hex of the last checkpoint).
    static func outcome(_ sandbox: Sandbox) throws -> [String] {
        try sandbox.rows(
            """
            SELECT t.number, t.status, \(sandbox.hex("c.weights")) FROM trials t
            JOIN run_summary s ON s.id = t.run_id
            LEFT JOIN checkpoints c ON c.run_id = t.run_id AND c.epoch = s.last_epoch
            ORDER BY t.number
            """)
    }

    /// The same grid trained by one worker on SQLite, start to end: once per test process.
    static let serial: [String] = {
        let sandbox = try! Sandbox()
        precondition(try! sandbox.run(grid + ["--detach"]).status == 0, "cannot create the serial sweep")
        let worker = try! sandbox.run(["worker"])
        precondition(worker.status == 0, "the serial sweep failed: \(worker.stderr)")
        return try! outcome(sandbox)
    }()

    /// Each trial has exactly one run, whose epochs are 1…40 without a gap or a duplicate, and
    /// ends with the serial sweep's weights.
    func expectEveryTrialTrainedOnce(_ sandbox: Sandbox, _ comment: Comment? = nil) throws {
        #expect(try sandbox.value("SELECT count(*) FROM runs WHERE sweep_id = 1") == "3", comment)
        #expect(
            try sandbox.rows(
                """
                SELECT t.number, count(*), max(e.epoch) FROM trials t
                JOIN epochs e ON e.run_id = t.run_id GROUP BY t.number ORDER BY t.number
                """) == ["1,40,40", "2,40,40", "3,40,40"], comment)
        #expect(try Self.outcome(sandbox) == Self.serial, comment)
    }

    @Test(arguments: Sandbox.Store.all) func racingWorkersTrainEveryTrialOnce(store: Sandbox.Store) throws {
        // Given a detached sweep
        let sandbox = try Sandbox(store)
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
        try expectEveryTrialTrainedOnce(sandbox)
    }

    @Test(arguments: Sandbox.Store.all) func killedWorkersTrialIsResumedExactlyByAnother(store: Sandbox.Store) throws {
        // Given a worker killed outright in the middle of its first trial
        let sandbox = try Sandbox(store)
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
        try expectEveryTrialTrainedOnce(sandbox)
    }

    @Test(arguments: Sandbox.Store.all) func killedWorkersTrialIsFreeAtOnceOnItsMachine(store: Sandbox.Store) throws {
        // Given a one-trial sweep whose worker, on a 600 s lease, is killed outright mid-trial
        let sandbox = try Sandbox(store)
        #expect(try sandbox.run(["sweep", "--learning-rate", "0.1"] + Array(Self.grid.dropFirst(3)) + ["--detach"]).status == 0)
        let doomed = try Background(sandbox, ["worker", "--lease-seconds", "600"], label: "doomed")
        #expect(doomed.waitForLines("epoch ", count: 3), "\(doomed.stderr)")
        doomed.send(SIGKILL)
        #expect(doomed.wait() == .signal(SIGKILL))

        // Then `sweeps` at once shows the trial waiting for a worker, not running, as `runs`
        // shows its run interrupted
        let progress = try sandbox.run(["sweeps", "--json"])
        let sweeps = try JSONSerialization.jsonObject(with: Data(progress.stdout.utf8)) as? [[String: Any]]
        #expect(sweeps?.first?["pending"] as? Int == 1 && sweeps?.first?["running"] as? Int == 0, "\(progress.stdout)")
        #expect((sweeps?.first?["workers"] as? [Any])?.isEmpty == true)
        #expect(try sandbox.status(runID: 1) == "interrupted")

        // And a new worker takes it over at once (its lease had 10 minutes to run), the same
        // run from its last epoch, and finishes it
        let survivor = try Background(sandbox, ["worker", "--lease-seconds", "600"], label: "survivor")
        let deadline = Date().addingTimeInterval(120)
        let tookOver = survivor.wait {
            survivor.stdout.contains("trial 1/1 of sweep 1 (attempt 2)") || Date() > deadline
        }
        #expect(tookOver && survivor.stdout.contains("(attempt 2)"), "no takeover within 120 s: \(survivor.stdout)")
        if !survivor.stdout.contains("(attempt 2)") { survivor.send(SIGKILL) }
        #expect(survivor.wait() == .exit(0), "\(survivor.stderr)")
        #expect(try sandbox.rows("SELECT number, status, attempts, run_id FROM trials") == ["1,completed,2,1"])
    }

    @Test(arguments: Sandbox.Store.all) func workersKilledAtRandomMomentsStillTrainEveryTrialOnce(store: Sandbox.Store) throws {
        // Given a detached sweep and two workers at a time, one of them SIGKILLed at a random
        // moment (seeded), then replaced, again and again
        let kills = stress ? 30 : 6
        var random = SeededRandom(seed: 0x5EED_0012)
        let sandbox = try Sandbox(store)
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let arguments = ["worker", "--sweep", "1", "--lease-seconds", "2"]
        var workers: [Background] = []
        var landed = 0
        for k in 0..<kills {
            while workers.filter(\.isRunning).count < 2 {
                workers.append(
                    try Background(sandbox, arguments, label: "w\(workers.count)", environment: Self.lease))
            }
            usleep(UInt32.random(in: 50_000...1_500_000, using: &random))
            let running = workers.filter(\.isRunning)
            guard let victim = running.randomElement(using: &random) else { continue }
            if victim.send(SIGKILL) {
                let ending = victim.wait()
                #expect(ending == .signal(SIGKILL) || ending == .exit(0), "kill \(k): \(ending)")
                if ending == .signal(SIGKILL) { landed += 1 }
            }
        }

        // When one more worker is left to finish the sweep
        let last = try sandbox.run(arguments, environment: Self.lease)
        #expect(last.status == 0, "\(last.stderr)")
        for worker in workers where worker.isRunning {
            #expect(worker.wait() == .exit(0), "\(worker.stderr)")
        }

        // Then every trial completed once, with the weights of the serial sweep
        let attempts = try sandbox.rows("SELECT number, status, attempts FROM trials ORDER BY number")
        let comment = Comment(rawValue: "\(landed) of \(kills) kills landed; trials \(attempts)")
        #expect(landed > 0, comment)
        #expect(attempts.allSatisfy { $0.contains(",completed,") }, comment)
        try expectEveryTrialTrainedOnce(sandbox, comment)
    }

    @Test(arguments: Sandbox.Store.all) func ctrlCGivesTheTrialBackForAnotherWorker(store: Sandbox.Store) throws {
        // Given a worker interrupted in the middle of its first trial
        let sandbox = try Sandbox(store)
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
        try expectEveryTrialTrainedOnce(sandbox)
    }

    @Test(arguments: Sandbox.Store.all) func workerThatLostItsLeaseWritesNothingAndMovesOn(store: Sandbox.Store) throws {
        // Given a worker frozen (outside a transaction) past its 2 s lease
        let sandbox = try Sandbox(store)
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let frozen = try Background(
            sandbox, ["worker", "--lease-seconds", "2"], label: "frozen", environment: Self.lease)
        #expect(frozen.waitForLines("epoch ", count: 3), "\(frozen.stderr)")
        try sandbox.freezeOutsideATransaction(frozen)
        defer { frozen.send(SIGKILL) }

        // When its lease has expired (run_summary reads such a run as not running) and
        // another worker takes its trial over and finishes the sweep
        #expect(
            try eventually(within: 60, every: 0.2) {
                try sandbox.rows("SELECT id FROM run_summary WHERE status = 'running'").isEmpty
            }, "the frozen worker's lease never expired")
        let taker = try Background(
            sandbox, ["worker", "--lease-seconds", "2"], label: "taker", environment: Self.lease)
        #expect(taker.waitForLines("trial 1/3 of sweep 1 (attempt 2)"), "\(taker.stdout)")
        frozen.send(SIGCONT)

        // Then the frozen one says it lost the run and ends cleanly; nothing is trained twice
        #expect(frozen.wait() == .exit(0), "\(frozen.stderr)")
        #expect(frozen.stderr.contains("taken over by another"), "\(frozen.stderr)")
        #expect(taker.wait() == .exit(0), "\(taker.stderr)")
        try expectEveryTrialTrainedOnce(sandbox)
    }
}
