import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `sweep --asha`: trials pause at rungs, the best 1/η of each rung are promoted by resuming
/// the same run in place, and a promoted trial is the run an uninterrupted `train` makes.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct AshaTests {
    static let stores: [Sandbox.Store] = postgresAvailable ? [.sqlite, .postgres] : [.sqlite]

    /// A run's checkpoints, epoch and bytes (weights and velocity in hex), in epoch order.
    func checkpoints(_ sandbox: Sandbox, run: Int) throws -> [String] {
        let hex =
            sandbox.store == .sqlite
            ? "hex(weights) || '/' || coalesce(hex(velocity), '')"
            : "encode(weights, 'hex') || '/' || coalesce(encode(velocity, 'hex'), '')"
        let output = try sandbox.run([
            "sql", "--csv", "SELECT epoch, \(hex) FROM checkpoints WHERE run_id = \(run) ORDER BY epoch",
        ])
        expectSuccess(output)
        return Array(output.lines.dropFirst())
    }

    /// Checks ASHA's rule on the sweep's trial_rungs (6 trials, rungs at 1, 2, 4, η = 2): every
    /// trial reached rung 0, each rung's final top ⌊n/2⌋ were promoted, and exactly the
    /// promoted reached the next rung. Returns the rows of rung k: (number, rung, epoch, loss,
    /// promoted).
    func expectRungsFollowTheRule(_ sandbox: Sandbox) throws -> (Int) -> [[String]] {
        let rows = try sandbox.run([
            "sql", "--csv",
            "SELECT t.number, g.rung, g.epoch, g.val_loss, g.promoted_at IS NOT NULL FROM trial_rungs AS g JOIN trials AS t ON t.id = g.trial_id ORDER BY g.rung, g.val_loss, t.number",
        ]).lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        let atRung = { (k: Int) in rows.filter { $0[1] == "\(k)" } }
        #expect(atRung(0).count == 6)
        for k in 0..<2 {
            let reached = atRung(k)
            let promoted = Set(reached.filter { $0[4] == "1" || $0[4] == "true" }.map { $0[0] })
            #expect(reached.prefix(reached.count / 2).allSatisfy { promoted.contains($0[0]) }, "rung \(k): \(reached)")
            #expect(Set(atRung(k + 1).map { $0[0] }) == promoted, "rung \(k)")
            #expect(reached.allSatisfy { $0[2] == ["1", "2"][k] })
        }
        return atRung
    }

    @Test func aWorkerKilledMidSweepLosesNothingAndTrainsNoEpochTwice() throws {
        // Given an ASHA sweep written for workers, and a worker killed with SIGKILL once three
        // rungs are recorded (its trial held, its run possibly mid-epoch)
        let sandbox = try Sandbox()
        let common = ["--epochs", "4", "--val-size", "200", "--batch-size", "50", "--keep-every", "1"]
        expectSuccess(try sandbox.run(
            ["sweep", "--random", "6", "--learning-rate", "0.01:1:log", "--asha", "--min-epochs", "1",
             "--reduction-factor", "2", "--detach"] + common))
        let worker = sandbox.launch(["worker", "--sweep", "1", "--lease-seconds", "1"])
        worker.standardOutput = FileHandle.nullDevice
        try worker.run()
        let deadline = Date().addingTimeInterval(300)
        while try integer(sandbox, "SELECT count(*) FROM trial_rungs") < 3, Date() < deadline, worker.isRunning {
            usleep(20_000)
        }
        kill(worker.processIdentifier, SIGKILL)
        worker.waitUntilExit()

        // When another worker takes the sweep over
        let second = try sandbox.run(["worker", "--sweep", "1", "--lease-seconds", "1"])

        // Then the sweep ends whole, by the rule, every run trained exactly to its last rung
        expectSuccess(second)
        let atRung = try expectRungsFollowTheRule(sandbox)
        #expect(try integer(sandbox, "SELECT count(*) FROM trials WHERE status IN ('running', 'paused', 'pending')") == 0)
        let runs = try sandbox.run([
            "sql", "--csv",
            "SELECT s.epochs_done, g.epoch FROM trials AS t JOIN run_summary AS s ON s.id = t.run_id JOIN trial_rungs AS g ON g.trial_id = t.id AND g.rung = t.rung ORDER BY t.number",
        ]).lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(runs.count == 6 && runs.allSatisfy { $0[0] == $0[1] }, "\(runs)")
        #expect(!atRung(2).isEmpty)
    }

    @Test(arguments: stores)
    func promotionsFollowTheRuleAndAPromotedTrialEqualsAnUninterruptedTrain(store: Sandbox.Store) throws {
        // Given an ASHA sweep of 6 random learning rates with rungs at 1, 2 and 4 epochs (η = 2),
        // momentum and a cosine schedule planned over the 4, every checkpoint kept
        let sandbox = try Sandbox(store)
        let common = [
            "--epochs", "4", "--val-size", "200", "--batch-size", "50", "--momentum", "0.9",
            "--lr-schedule", "cosine", "--keep-every", "1",
        ]
        let sweep = try sandbox.run(
            ["sweep", "--random", "6", "--learning-rate", "0.01:1:log", "--asha", "--min-epochs", "1",
             "--reduction-factor", "2"] + common)
        expectSuccess(sweep)
        #expect(sweep.stdout.contains("ASHA, η = 2, rungs at 1, 2, 4 epochs: "), "\(sweep.stdout)")

        // Then every trial reached rung 0, and at each rung the final top ⌊n/2⌋ were promoted
        // and exactly the promoted ones reached the next rung
        let atRung = try expectRungsFollowTheRule(sandbox)
        // And the sweep ended with the trials of the last rung completed (all 4 epochs) and
        // the rest pruned where they paused, none running
        let finished = try sandbox.run([
            "sql", "--csv", "SELECT id, learning_rate, rung, epochs_done FROM run_summary WHERE trial_status = 'completed' ORDER BY id",
        ]).lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(Set(finished.map { $0[0] }).count == atRung(2).count && !finished.isEmpty)
        #expect(finished.allSatisfy { $0[2] == "2" && $0[3] == "4" }, "\(finished)")
        #expect(try integer(sandbox, "SELECT count(*) FROM run_summary WHERE trial_status = 'pruned'") == 6 - finished.count)
        #expect(try integer(sandbox, "SELECT count(*) FROM trials WHERE status IN ('running', 'paused', 'pending')") == 0)

        // When the completed trial's settings train straight through, uninterrupted
        let promoted = try #require(finished.first)
        let straight = try sandbox.run(["train", "--learning-rate", promoted[1]] + common)
        expectSuccess(straight)
        let straightID = try integer(sandbox, "SELECT max(id) FROM runs")

        // Then its checkpoint at every epoch, rungs and end included, is the same bytes
        let mine = try checkpoints(sandbox, run: Int(promoted[0]) ?? 0)
        #expect(mine.count == 4)
        #expect(mine == (try checkpoints(sandbox, run: straightID)))
    }

    @Test(arguments: stores)
    func sweepsShowsEachTrialsRungAndStateAndTheEpochsSpentInTextAndJSON(store: Sandbox.Store) throws {
        // Given an ASHA sweep of 6 trials, rungs at 1, 2 and 4 epochs (η = 2), trained
        let sandbox = try Sandbox(store)
        expectSuccess(try sandbox.run(
            ["sweep", "--random", "6", "--learning-rate", "0.01:1:log", "--asha", "--min-epochs", "1",
             "--reduction-factor", "2", "--epochs", "4", "--val-size", "200", "--batch-size", "50"]))
        let epochs = try integer(sandbox, "SELECT count(*) FROM epochs")
        let recorded = try sandbox.run([
            "sql", "--csv",
            "SELECT t.number, t.status, t.rung, (SELECT count(*) FROM trial_rungs g WHERE g.trial_id = t.id AND g.promoted_at IS NOT NULL) AS promotions FROM trials AS t ORDER BY t.number",
        ]).lines.dropFirst().map { $0.split(separator: ",").map(String.init) }

        // When `sweeps 1 --json` reads it
        let output = try sandbox.run(["sweeps", "1", "--json"])
        expectSuccess(output)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])

        // Then each trial carries its state, rung, promotions and every rung it reached
        let trials = try #require(object["trials"] as? [[String: Any]])
        #expect(trials.count == 6 && recorded.count == 6)
        for (trial, row) in zip(trials, recorded) {
            #expect(trial["number"] as? Int == Int(row[0]))
            #expect(trial["status"] as? String == row[1])
            #expect(trial["rung"] as? Int == Int(row[2]))
            #expect(trial["promotions"] as? Int == Int(row[3]))
            let rungs = try #require(trial["rungs"] as? [[String: Any]])
            #expect(rungs.map { $0["rung"] as? Int } == (0...(Int(row[2]) ?? 0)).map { $0 })
            #expect(rungs.map { $0["epoch"] as? Int } == rungs.map { [1, 2, 4][$0["rung"] as? Int ?? 0] })
            #expect(rungs.filter { $0["promoted_at"] is String }.count == Int(row[3]))
            #expect(rungs.allSatisfy { $0["val_loss"] is Double && $0["reached_at"] is String })
        }
        #expect(Set(trials.compactMap { $0["status"] as? String }) == ["completed", "pruned"])
        // And the sweep its paused and pruned counts and the epochs it spent against full training
        let progress = try #require(object["progress"] as? [String: Any])
        let asha = try #require(progress["asha"] as? [String: Any])
        #expect(asha["reduction_factor"] as? Int == 2 && (asha["rungs"] as? [Any])?.compactMap { $0 as? Int } == [1, 2, 4])
        #expect(asha["epochs_trained"] as? Int == epochs && asha["full_training_epochs"] as? Int == 24)
        #expect(progress["paused"] as? Int == 0)
        #expect(progress["pruned"] as? Int == recorded.filter { $0[1] == "pruned" }.count)
        // And the ranking each run's trial state and rung, as run_summary has them
        let ranking = try #require(object["ranking"] as? [[String: Any]])
        #expect(Set(ranking.compactMap { $0["trial_status"] as? String }) == ["completed", "pruned"])
        #expect(ranking.allSatisfy { $0["rung"] is Int })

        // And the text shows the same: paused and pruned counts, each trial's rung and state
        let text = try sandbox.run(["sweeps", "1"])
        expectSuccess(text)
        #expect(text.lines.first?.contains("paused  pruned") == true, "\(text.stdout)")
        #expect(text.stdout.contains("\(epochs) epochs trained of the 24 that training every trial fully would take"), "\(text.stdout)")
        let list = try sandbox.run(["sweeps"])
        #expect(list.lines.first?.contains("paused  pruned") == true, "\(list.stdout)")
    }

    @Test func badAshaSettingsAreRefusedInOneLineAndWriteNothing() throws {
        let sandbox = try Sandbox()
        for (arguments, message) in [
            (["--asha", "--reduction-factor", "1"], "--reduction-factor must be at least 2; got 1."),
            (["--asha", "--min-epochs", "5", "--epochs", "5"], "--min-epochs must be below --epochs (5), for a rung before the last; got 5."),
            (["--asha", "--min-epochs", "0"], "--min-epochs must be at least 1; got 0."),
            (["--asha", "--epochs", "1"], "--asha needs --epochs of at least 2, for a rung before the last; got 1."),
            (["--min-epochs", "2"], "--min-epochs and --reduction-factor set ASHA's rungs; add --asha."),
            (["--reduction-factor", "3"], "--min-epochs and --reduction-factor set ASHA's rungs; add --asha."),
        ] {
            expectOneLineError(try sandbox.run(["sweep"] + arguments), status: 64, startingWith: message)
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func anAshaSweepSaysWhatPatienceDoesAndWhenTooFewTrialsReachTheLastRung() throws {
        // Given an ASHA sweep of 2 trials with η = 3 and --patience
        let sandbox = try Sandbox()
        let created = try sandbox.run([
            "sweep", "--asha", "--learning-rate", "0.1,0.2", "--epochs", "3", "--patience", "5",
            "--val-size", "200", "--detach",
        ])

        // Then it is created, and two notes say which rule wins and that none is promoted
        expectSuccess(created)
        #expect(
            created.stderr.split(separator: "\n") == [
                "note: with --patience, early stopping wins: a trial whose validation loss stops improving completes there, at whatever rung, and is never promoted.",
                "note: with 2 trials and η = 3, no trial goes past rung 0 (epoch 1) of rungs at 1, 3: a rung promotes the best ⌊n/η⌋ of the n trials that reached it, so none trains all 3 epochs unless given at least 3 trials, a smaller --reduction-factor or a larger --min-epochs.",
            ], "\(created.stderr)")

        // And 6 trials over rungs at 1, 3 and 4 epochs reach rung 1 and no further
        let short = try sandbox.run([
            "sweep", "--asha", "--random", "6", "--learning-rate", "0.01:1:log", "--epochs", "4",
            "--val-size", "200", "--detach",
        ])
        expectSuccess(short)
        #expect(short.stderr.hasPrefix("note: with 6 trials and η = 3, no trial goes past rung 1 (epoch 3) of rungs at 1, 3, 4: ") && short.stderr.contains("unless given at least 9 trials"), "\(short.stderr)")

        // And a sweep with enough trials and no --patience says nothing
        let quiet = try sandbox.run([
            "sweep", "--asha", "--learning-rate", "0.1,0.2,0.3", "--epochs", "3", "--val-size", "200", "--detach",
        ])
        expectSuccess(quiet)
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
    }
}
