import Foundation
import Sweeps
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 25's proof that an ASHA sweep survives anything, on SQLite and on PostgreSQL: three
/// workers share a sweep and are SIGKILLed at random moments (seeded; the seed is printed and
/// `MNISTLAB_KILL_SEED` replays one), some of them the instant they print that they claimed a
/// promotion (a paused trial made running again, its run not yet resumed or before its next
/// epoch), each replaced at once, until the sweep ends. Then, recomputed in this process with
/// Sweeps' own `Promotion` and `RungLadder` from what the store recorded: every promotion was
/// one the rule allowed when it was made, the rule has nothing left to do at the end, and
/// exactly the promoted trials reached the next rung; no epoch was trained twice and no trial
/// went past its rung; every trial is completed or pruned; and the trial that reached the top
/// holds, checkpoint for checkpoint, the bytes of an uninterrupted `train` of its settings.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct AshaKillTests {
    /// 9 trials, η = 3, rungs at 1, 3 and 9 epochs; momentum and a cosine schedule planned
    /// over the 9, so that a resume that lost the velocity or the schedule would show.
    static let common = [
        "--epochs", "9", "--val-size", "200", "--batch-size", "50", "--momentum", "0.9",
        "--lr-schedule", "cosine", "--keep-every", "1",
    ]
    static let ladder = try! RungLadder(maxEpochs: 9, minEpochs: 1, reductionFactor: 3)
    static let worker = ["worker", "--sweep", "1", "--lease-seconds", "2"]

    /// Where a kill was aimed.
    enum Aim { case promotion, anywhere }

    @Test(arguments: Sandbox.Store.all)
    func workersKilledAtRandomMomentsAndMidPromotionLeaveTheSweepAsTheRuleAllows(
        store: Sandbox.Store
    ) throws {
        let seed =
            ProcessInfo.processInfo.environment["MNISTLAB_KILL_SEED"].flatMap { UInt64($0) }
            ?? 0x25A5_4A01
        print("AshaKillTests (\(store)): seed \(seed); MNISTLAB_KILL_SEED=\(seed) replays it")
        var random = SeededRandom(seed: seed)
        // Given a detached ASHA sweep of 9 random learning rates
        let sandbox = try Sandbox(store)
        let created = try sandbox.run(
            ["sweep", "--random", "9", "--learning-rate", "0.01:1:log", "--asha", "--min-epochs", "1",
             "--reduction-factor", "3", "--detach"] + Self.common)
        #expect(created.status == 0, "\(created.stderr)")

        // When three workers train it, one of them SIGKILLed now and then, at a random moment
        // or right as it claims a promotion, and replaced at once
        var pool = WorkerPool(sandbox: sandbox)
        try pool.fill()
        let kills = stress ? 24 : 8
        var tally = KillTally()
        let deadline = Date().addingTimeInterval(240)
        for k in 0..<kills where Date() < deadline && !pool.allExited {
            // At least three aimed at a promotion (4 promotions in all, none if the sweep ends).
            let aim: Aim =
                kills - k <= 3 - tally.aimedAtPromotion || Bool.random(using: &random)
                ? .promotion : .anywhere
            let victim: (worker: Background, trial: Int?)?
            switch aim {
            case .promotion:
                victim = pool.waitForPromotionClaim(until: deadline)
                if victim != nil { tally.aimedAtPromotion += 1 }
            case .anywhere:
                usleep(UInt32.random(in: 0...800_000, using: &random))
                pool.scan()
                victim = pool.running.randomElement(using: &random).map { ($0, nil) }
            }
            guard let victim else { break }
            if victim.worker.send(SIGKILL) {
                let ending = victim.worker.wait()
                #expect(ending == .signal(SIGKILL) || ending == .exit(0), "kill \(k): \(ending)")
                if ending == .signal(SIGKILL) {
                    tally.landed += 1
                    if let trial = victim.trial, try Self.heldBeforeItsNextEpoch(sandbox, trial) {
                        tally.beforeNextEpoch += 1
                    }
                }
            }
            try pool.fill()
        }
        // Then, with no more kills, the workers end the sweep and exit 0
        for worker in pool.workers where worker.isRunning {
            #expect(worker.wait(seconds: max(30, deadline.timeIntervalSinceNow)) == .exit(0), "\(worker.stderr)")
        }
        let comment = Comment(rawValue: "seed \(seed): \(tally)")
        print("AshaKillTests (\(store)): \(tally)")
        #expect(tally.landed > 0 && tally.aimedAtPromotion > 0, comment)

        // And the sweep is what the rule allows, trained once, with nothing lost
        try expectTheRuleHeld(sandbox, comment)
        try expectEveryTrialTrainedOnceToItsRung(sandbox, comment)
        try expectTheTopTrialEqualsAnUninterruptedTrain(sandbox, comment)
    }

    // MARK: - What must hold

    /// Each trial's rows of trial_rungs as the rule needs them.
    struct Reached {
        var trial: Int
        var rung: Int
        var epoch: Int
        var valLoss: Double
        var reachedAt: String
        var promotedAt: String?
    }

    static func reached(_ sandbox: Sandbox) throws -> [Reached] {
        try sandbox.rows(
            """
            SELECT t.number, g.rung, g.epoch, g.val_loss, g.reached_at, coalesce(g.promoted_at, '-') AS promoted_at
            FROM trial_rungs AS g JOIN trials AS t ON t.id = g.trial_id WHERE t.sweep_id = 1
            ORDER BY t.number, g.rung
            """
        ).map { row in
            let f = row.split(separator: ",").map(String.init)
            return Reached(
                trial: Int(f[0]) ?? -1, rung: Int(f[1]) ?? -1, epoch: Int(f[2]) ?? -1,
                valLoss: Double(f[3]) ?? .nan, reachedAt: f[4], promotedAt: f[5] == "-" ? nil : f[5])
        }
    }

    /// Recomputes ASHA's rule with `Promotion.decide` on what the store recorded:
    /// - each promotion, replayed on the results its rung had when it was made (reached no
    ///   later than it), with only that trial paused there, is the rule's decision;
    /// - on the final state (the pruned trials paused where they stopped, nothing pending or
    ///   running) the rule says the sweep is over and prunes exactly those trials;
    /// - a trial reached rung k + 1 exactly when it was promoted from rung k, every rung at its
    ///   ladder's epoch, each trial's rungs 0…its rung without a gap.
    func expectTheRuleHeld(_ sandbox: Sandbox, _ comment: Comment) throws {
        let ladder = Self.ladder
        let reached = try Self.reached(sandbox)
        let trials = try sandbox.rows("SELECT number, status, coalesce(rung, -1) AS rung FROM trials ORDER BY number")
            .map { $0.split(separator: ",").map(String.init) }
        #expect(trials.count == 9, comment)
        #expect(Set(reached.filter { $0.rung == 0 }.map(\.trial)) == Set(1...9), comment)

        for promotion in reached {
            guard let at = promotion.promotedAt else { continue }
            // The rung's results when it was decided: those reached before it (timestamps
            // are milliseconds: one reached in the same one may have come just before or after).
            let decisions = [false, true].map { sameMillisecond in
                let then = reached.filter {
                    $0.rung == promotion.rung && ($0.reachedAt < at || (sameMillisecond && $0.reachedAt == at))
                }
                let snapshot = AshaSnapshot(
                    results: then.map {
                        RungResult(
                            trial: $0.trial, rung: $0.rung, valLoss: $0.valLoss,
                            promoted: $0.trial != promotion.trial && $0.promotedAt.map { $0 < at } == true)
                    },
                    paused: [promotion.trial: promotion.rung])
                return Promotion.decide(snapshot, ladder: ladder)
            }
            #expect(
                decisions.contains(.promote(trial: promotion.trial, from: promotion.rung)),
                "trial \(promotion.trial) promoted from rung \(promotion.rung) at \(at): \(decisions) on \(reached.filter { $0.rung == promotion.rung }); \(comment)")
        }

        let pruned = trials.filter { $0[1] == "pruned" }
        let final = AshaSnapshot(
            results: reached.map {
                RungResult(trial: $0.trial, rung: $0.rung, valLoss: $0.valLoss, promoted: $0.promotedAt != nil)
            },
            paused: Dictionary(uniqueKeysWithValues: pruned.map { (Int($0[0]) ?? 0, Int($0[2]) ?? 0) }))
        #expect(
            Promotion.decide(final, ladder: ladder) == .finish(pruned: pruned.map { Int($0[0]) ?? 0 }.sorted()),
            comment)

        for trial in trials {
            let number = Int(trial[0]) ?? 0
            let rows = reached.filter { $0.trial == number }
            let rung = Int(trial[2]) ?? -1
            #expect(rows.map(\.rung) == Array(0...max(rung, 0)), "trial \(number): \(rows); \(comment)")
            #expect(rows.allSatisfy { $0.epoch == ladder.epochs[$0.rung] }, "trial \(number); \(comment)")
            for row in rows where row.rung < ladder.top {
                let next = rows.contains { $0.rung == row.rung + 1 }
                #expect((row.promotedAt != nil) == next, "trial \(number) rung \(row.rung); \(comment)")
            }
        }
    }

    /// Every trial is completed (at the top rung) or pruned (below it), never failed, pending
    /// or running; each has one run of its own and the sweep no other; each run's epochs are
    /// 1…its rung's epoch, once each, each with its checkpoint (every one kept), and each
    /// rung's metric is its run's validation loss at that epoch.
    func expectEveryTrialTrainedOnceToItsRung(_ sandbox: Sandbox, _ comment: Comment) throws {
        let ladder = Self.ladder
        let rows = try sandbox.rows(
            """
            SELECT t.number, t.rung,
                (SELECT count(*) FROM epochs e WHERE e.run_id = t.run_id) AS epochs,
                (SELECT count(DISTINCT epoch) FROM epochs e WHERE e.run_id = t.run_id) AS distinct_epochs,
                (SELECT max(epoch) FROM epochs e WHERE e.run_id = t.run_id) AS last_epoch,
                (SELECT count(*) FROM checkpoints c WHERE c.run_id = t.run_id) AS checkpoints,
                (SELECT count(*) FROM trial_rungs g JOIN epochs e ON e.run_id = t.run_id
                   AND e.epoch = g.epoch AND e.val_loss = g.val_loss WHERE g.trial_id = t.id) AS matching,
                (SELECT count(*) FROM trial_rungs g WHERE g.trial_id = t.id) AS rungs,
                t.status
            FROM trials AS t WHERE t.sweep_id = 1 ORDER BY t.number
            """
        ).map { $0.split(separator: ",").map(String.init) }
        #expect(rows.count == 9, comment)
        for text in rows {
            let row = text.compactMap { Int($0) }
            #expect(row.count == 8, "trial: \(text); \(comment)")
            guard row.count == 8, (0...ladder.top).contains(row[1]) else { continue }
            let epoch = ladder.epochs[row[1]]
            #expect(text.last == (row[1] == ladder.top ? "completed" : "pruned"), "trial \(text); \(comment)")
            #expect(row[2] == epoch && row[3] == epoch && row[4] == epoch && row[5] == epoch,
                    "trial \(row[0]) at rung \(row[1]): \(row); \(comment)")
            #expect(row[6] == row[7] && row[7] == row[1] + 1, "trial \(row[0]): \(row); \(comment)")
        }
        #expect(try sandbox.value("SELECT count(*) FROM runs WHERE sweep_id = 1") == "9", comment)
        #expect(try sandbox.value("SELECT count(DISTINCT run_id) FROM trials WHERE sweep_id = 1") == "9", comment)
        #expect(try sandbox.value("SELECT count(*) FROM trials WHERE status = 'completed'") == "1", comment)
    }

    /// The trial that reached the top rung (promoted twice, its run paused and resumed in
    /// place, perhaps killed between) equals `train` of its settings, checkpoint for checkpoint
    /// and epoch for epoch.
    func expectTheTopTrialEqualsAnUninterruptedTrain(_ sandbox: Sandbox, _ comment: Comment) throws {
        let top = try #require(
            try sandbox.value("SELECT s.id, s.learning_rate FROM trials t JOIN run_summary s ON s.id = t.run_id WHERE t.status = 'completed'")?
                .split(separator: ",").map(String.init), comment)
        let straight = try sandbox.run(["train", "--learning-rate", top[1]] + Self.common)
        #expect(straight.status == 0, "\(straight.stderr)")
        let straightID = try #require(try sandbox.value("SELECT max(id) FROM runs"))
        func checkpoints(_ run: String) throws -> [String] {
            try sandbox.rows(
                "SELECT epoch, \(sandbox.hex("weights")), \(sandbox.hex("velocity")) FROM checkpoints WHERE run_id = \(run) ORDER BY epoch")
        }
        func metrics(_ run: String) throws -> [String] {
            try sandbox.rows(
                "SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs WHERE run_id = \(run) ORDER BY epoch")
        }
        let mine = try checkpoints(top[0])
        #expect(mine.count == 9, comment)
        #expect(mine == (try checkpoints(straightID)), comment)
        #expect(try metrics(top[0]) == (try metrics(straightID)), comment)
    }

    /// Whether trial `number` is held and promoted from its rung, its run not past that
    /// rung's epoch: the kill came inside the promotion, before its next epoch committed.
    static func heldBeforeItsNextEpoch(_ sandbox: Sandbox, _ number: Int) throws -> Bool {
        try sandbox.value(
            """
            SELECT count(*) FROM trials t JOIN trial_rungs g ON g.trial_id = t.id AND g.rung = t.rung
            WHERE t.number = \(number) AND t.status = 'running' AND g.promoted_at IS NOT NULL
              AND coalesce((SELECT max(epoch) FROM epochs e WHERE e.run_id = t.run_id), 0) = g.epoch
            """) == "1"
    }
}

/// Where the kills landed.
struct KillTally: CustomStringConvertible {
    var landed = 0
    var aimedAtPromotion = 0
    /// Aimed at a promotion and landed before its trial's next epoch committed.
    var beforeNextEpoch = 0

    var description: String {
        "\(landed) SIGKILLs landed, \(aimedAtPromotion) aimed at a promotion claim, "
            + "\(beforeNextEpoch) of them before the promoted trial's next epoch"
    }
}

/// Three `mnistlab worker` processes on sweep 1, replaced as they die, and what they printed:
/// each claim line ("trial N/9 of sweep 1", with "(attempt k)" for a takeover or retry) read
/// once, so that a claim of a trial claimed before, as a first attempt, is a promotion.
struct WorkerPool {
    let sandbox: Sandbox
    var workers: [Background] = []
    /// Lines of each worker's output already read.
    private var read: [Int] = []
    private var claimed = Set<Int>()

    init(sandbox: Sandbox) { self.sandbox = sandbox }

    var running: [Background] { workers.filter(\.isRunning) }
    var allExited: Bool { running.isEmpty }

    /// Starts workers until three run, unless the sweep is over (a worker exited 0).
    mutating func fill() throws {
        if workers.contains(where: { !$0.isRunning && $0.process.terminationStatus == 0 && $0.process.terminationReason == .exit }) {
            return
        }
        while running.count < 3 {
            workers.append(try Background(sandbox, AshaKillTests.worker, label: "worker-\(workers.count)"))
            read.append(0)
        }
    }

    /// Reads new claim lines; returns the first promotion claimed, with its worker.
    @discardableResult
    mutating func scan() -> (worker: Background, trial: Int?)? {
        var promotion: (worker: Background, trial: Int?)?
        for (k, worker) in workers.enumerated() {
            let lines = worker.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            // The last piece may be a line still being written.
            let complete = lines.dropLast()
            for line in complete.dropFirst(read[k]) where line.hasPrefix("trial ") {
                guard let number = Int(line.dropFirst(6).prefix { $0 != "/" }) else { continue }
                let promoted = !claimed.insert(number).inserted && !line.contains("(attempt")
                if promoted, promotion == nil, worker.isRunning { promotion = (worker, number) }
            }
            read[k] = complete.count
        }
        return promotion
    }

    /// Polls the workers' output every millisecond for the next promotion claim, until
    /// `deadline` or every worker has exited.
    mutating func waitForPromotionClaim(until deadline: Date) -> (worker: Background, trial: Int?)? {
        while Date() < deadline && !allExited {
            if let found = scan() { return found }
            usleep(1_000)
        }
        return nil
    }
}
