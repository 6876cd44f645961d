import Foundation
import TestSupport
import Testing

/// `tag`, `untag`, `note`, `rename`, `rm`, `prune` and `db vacuum` through the binary: what
/// they print, what they refuse, and that every query agrees afterwards.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct RunManagementTests {
    @Test func tagsNotesAndNamesShowInEveryView() throws {
        // Given two runs
        let sandbox = try Sandbox()
        try sandbox.train(["--name", "first"])
        try sandbox.train(["--name", "second"])

        // When they are tagged, one untagged, run 1 noted and renamed
        expectSuccess(try sandbox.run(["tag", "1", "2", "baseline", "seed"]))
        expectSuccess(try sandbox.run(["tag", "1", "zeta"]))
        expectSuccess(try sandbox.run(["untag", "2", "seed"]))
        expectSuccess(try sandbox.run(["note", "1", "why: to check the seed"]))
        expectSuccess(try sandbox.run(["rename", "1", "renamed"]))

        // Then runs --tag finds them, show, runs --json, sql and the report show them
        let tagged = try sandbox.run(["runs", "--tag", "zeta"])
        #expect(tagged.lines.count == 2 && tagged.lines[1].contains("renamed"), "\(tagged.stdout)")
        #expect(tagged.lines[1].hasSuffix("baseline,seed,zeta"))
        #expect(try sandbox.run(["runs", "--tag", "baseline"]).lines.count == 3)
        let show = try sandbox.run(["show", "1"]).stdout
        #expect(show.contains("tags           baseline, seed, zeta"), "\(show)")
        #expect(show.contains("note           why: to check the seed"), "\(show)")
        let runs = try JSONSerialization.jsonObject(
            with: Data(try sandbox.run(["runs", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(runs?.map { $0["tags"] as? [String] } == [["baseline"], ["baseline", "seed", "zeta"]])
        #expect(runs?.last?["note"] as? String == "why: to check the seed")
        let sql = try sandbox.run(
            ["sql", "--csv", "SELECT id, name, tags, note FROM run_summary ORDER BY id"])
        #expect(
            sql.lines == [
                "id,name,tags,note", "1,renamed,\"baseline,seed,zeta\",why: to check the seed",
                "2,second,baseline,",
            ], "\(sql.stdout)")
        let rows = try sandbox.run(["sql", "--csv", "SELECT run_id, tag FROM run_tags ORDER BY 1, 2"])
        #expect(rows.lines.count == 5)
        let report = try sandbox.run(["report", "1", "-o", "-"]).stdout
        #expect(report.contains("<tr><th>Tags</th><td>baseline, seed, zeta</td></tr>"))
        #expect(report.contains("<tr><th>Note</th><td>why: to check the seed</td></tr>"))

        let status = try JSONSerialization.jsonObject(
            with: Data(try sandbox.run(["db", "status", "--json"]).stdout.utf8)) as? [String: Any]
        let space = status?["checkpoint_space"] as? [[String: Any]]
        #expect(space?.count == 2 && space?.allSatisfy { ($0["bytes"] as? Int ?? 0) > 0 } == true)
        #expect(
            space?.map { $0["bytes"] as? Int ?? 0 }.reduce(0, +)
                == status?["checkpoint_bytes"] as? Int)

        // When the note is cleared
        expectSuccess(try sandbox.run(["note", "1", ""]))
        #expect(!(try sandbox.run(["show", "1"]).stdout.contains("note ")))
    }

    @Test func namesAndTagsWithControlCharactersAreRefused() throws {
        // Given a run
        let sandbox = try Sandbox()
        try sandbox.train()
        let before = try sandbox.run(["sql", "--csv", "SELECT * FROM run_summary"]).stdout

        // When a tag or a name holds a control character, a comma, or is a number
        let refusals: [([String], String)] = [
            (["tag", "1", "a\tb"], "A tag cannot contain control characters"),
            (["tag", "1", "a,b"], "A tag cannot contain a comma"),
            (["tag", "1", "ok", "12"], "A tag cannot be a number"),
            (["rename", "1", "two\nlines"], "A run name cannot contain control characters"),
            (["rename", "1", ""], "A run name cannot be empty"),
            (["prune", "--keep", "best"], "--keep must include best and last"),
            (["prune", "--keep", "best,last,every:0"], "every:N in --keep needs"),
            (["prune", "--keep", "best,last,some"], "--keep takes best, last, every:N and forks"),
        ]

        // Then each is one line, exit 64, and nothing changed
        for (arguments, message) in refusals {
            let output = try sandbox.run(arguments)
            #expect(output.status == 64, "\(arguments): \(output.stderr)")
            #expect(output.stderr.hasPrefix("Error: \(message)"), "\(arguments): \(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1)
        }
        #expect(try sandbox.run(["sql", "--csv", "SELECT * FROM run_summary"]).stdout == before)
        let unknown = try sandbox.run(["tag", "9", "x"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("Error: Cannot tag runs in "), "\(unknown.stderr)")
        #expect(unknown.stderr.hasSuffix(": there is no run 9.\n"), "\(unknown.stderr)")
    }

    @Test func forkParentNeedsWithForksAndQueriesAgreeAfterRemoval() throws {
        // Given run 1, its fork 2 from epoch 2, an unrelated run 3, and an evaluation of 2
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3", "--keep-every", "1"])
        expectSuccess(try sandbox.run(["resume", "1", "--from", "2", "--learning-rate", "0.05"]))
        try sandbox.train(["--epochs", "2", "--learning-rate", "0.5"])
        expectSuccess(try sandbox.run(["evaluate", "2"]))
        let before = fileBytes(sandbox.database)

        // When run 1 is removed alone
        let refused = try sandbox.run(["rm", "1"])

        // Then it is refused with its forks named, and the file is unchanged
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "Error: Cannot remove run 1 from \(sandbox.database): run 2 was forked from run 1. Pass --with-forks to remove them too, or remove them first (`mnistlab rm 2`); `mnistlab show 1` lists its forks.\n"
        )
        #expect(fileBytes(sandbox.database) == before)

        // When the removal is tried dry, then done
        let dry = try sandbox.run(["rm", "1", "--with-forks", "--dry-run"])
        let done = try sandbox.run(["rm", "1", "--with-forks"])

        // Then both list the fork first with its evaluation and the bytes; only the second acts
        expectSuccess(dry)
        expectSuccess(done)
        #expect(dry.lines.first?.hasPrefix("would remove run 2 (run-2, a fork of run 1): ") == true)
        #expect(dry.lines.first?.contains("1 evaluations") == true, "\(dry.stdout)")
        #expect(dry.lines.last?.hasPrefix("would remove 2 runs, ") == true)
        #expect(
            Array(done.lines.dropLast()) == dry.lines.dropLast().map { "removed" + $0.dropFirst(12) })
        let ids = try sandbox.run(["sql", "--csv", "SELECT id FROM run_summary"]).lines
        #expect(ids == ["id", "3"])
        #expect(try sandbox.run(["best", "--json"]).stdout.contains("\"run_id\" : 3"))
        #expect(try sandbox.run(["runs"]).lines.count == 2)
        #expect(try sandbox.run(["show", "1"]).status == 1)
        #expect(try sandbox.run(["export", "3"]).status == 0)
        let checks = try sandbox.run([
            "sql", "--csv",
            """
            SELECT (SELECT count(*) FROM pragma_foreign_key_check) AS fk,
                   (SELECT group_concat(integrity_check) FROM pragma_integrity_check) AS integrity,
                   (SELECT count(*) FROM run_stats WHERE run_id NOT IN (SELECT id FROM runs)) AS orphans,
                   (SELECT count(*) FROM epochs WHERE run_id <> 3) +
                   (SELECT count(*) FROM checkpoints WHERE run_id <> 3) +
                   (SELECT count(*) FROM evaluations) + (SELECT count(*) FROM confusion) AS leftovers
            """,
        ])
        #expect(checks.lines == ["fk,integrity,orphans,leftovers", "0,ok,0,0"], "\(checks.stdout)")
    }

    @Test(arguments: Sandbox.Store.all)
    func aSweepsRunAndThenTheSweepAreRemovedAsTheirDryRunsSay(store: Sandbox.Store) throws {
        // Given a sweep of two one-epoch trials, both trained
        let sandbox = try Sandbox(store)
        expectSuccess(
            try sandbox.run([
                "sweep", "--learning-rate", "0.05,0.5", "--epochs", "1", "--val-size", "200",
                "--batch-size", "50",
            ]))

        // When its run 1 is removed, dry first
        let dry = try sandbox.run(["rm", "1", "--dry-run"])
        let done = try sandbox.run(["rm", "1"])

        // Then it goes (no foreign-key error) as the dry run said, and its trial is pending
        expectSuccess(dry)
        expectSuccess(done)
        #expect(dry.lines.contains("would return trial 1 of sweep 1 to pending (its run 1 goes)"), "\(dry.stdout)")
        #expect(done.lines.contains("returned trial 1 of sweep 1 to pending (its run 1 goes)"), "\(done.stdout)")
        let trials = try sandbox.run(["sql", "--csv", "SELECT number, status, run_id FROM trials ORDER BY number"])
        #expect(trials.lines == ["number,status,run_id", "1,pending,", "2,completed,2"])

        // When the whole sweep is removed, dry first
        let sweepDry = try sandbox.run(["rm", "--sweep", "1", "--dry-run"])
        let sweepDone = try sandbox.run(["rm", "--sweep", "1"])

        // Then its trials and its other run go with it
        expectSuccess(sweepDry)
        expectSuccess(sweepDone)
        #expect(sweepDry.lines.contains("would remove sweep 1 with its 2 trials"), "\(sweepDry.stdout)")
        #expect(Array(sweepDone.lines.dropLast()) == sweepDry.lines.dropLast().map { "removed" + $0.dropFirst(12) })
        let left = try sandbox.run([
            "sql", "--csv",
            "SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM trials) + (SELECT count(*) FROM sweeps) AS n",
        ])
        #expect(left.lines == ["n", "0"])
        #expect(try sandbox.run(["rm", "--sweep", "1"]).stderr.contains("there is no sweep 1."))
    }

    @Test(arguments: Sandbox.Store.all)
    func pruneKeepsExactlyWhatItSays(store: Sandbox.Store) throws {
        // Given 12 epochs, every checkpoint kept, in either store
        let sandbox = try Sandbox(store)
        try sandbox.train(["--epochs", "12", "--keep-every", "1"])
        let best = try integer(sandbox, "SELECT best_epoch FROM run_summary")
        let metrics = try sandbox.run(["sql", "--csv", "SELECT * FROM epochs ORDER BY epoch"]).stdout

        // When every:5 is kept, first dry
        let dry = try sandbox.run(["prune", "1", "--keep", "best,last,every:5,forks", "--dry-run"])
        let unchanged = try checkpointEpochs(sandbox)
        let done = try sandbox.run(["prune", "1", "--keep", "best,last,every:5,forks"])

        // Then best, last and the multiples of 5 stay, nothing else; the epochs stay
        expectSuccess(dry)
        expectSuccess(done)
        #expect(unchanged == Array(1...12))
        let expected = Set([best, 12, 5, 10]).sorted()
        #expect(try checkpointEpochs(sandbox) == expected)
        #expect(dry.lines.first?.contains("would drop \(12 - expected.count) checkpoints") == true)
        #expect(done.lines.first?.contains("dropped \(12 - expected.count) checkpoints") == true)
        let line = done.lines.first ?? ""
        #expect(line.hasSuffix(", 12 (best, last)") || line.hasSuffix(", 12 (last)"), "\(line)")
        #expect(try sandbox.run(["sql", "--csv", "SELECT * FROM epochs ORDER BY epoch"]).stdout == metrics)

        // When pruned to best and last, across every run
        expectSuccess(try sandbox.run(["prune", "--keep", "best,last"]))
        #expect(try checkpointEpochs(sandbox) == Set([best, 12]).sorted())
        #expect(try sandbox.run(["resume", "1", "--epochs", "13"]).status == 0)
    }

    /// The 919 MiB file (2,971 epochs of the seed network, every checkpoint kept),
    /// scaled down to 300 epochs of a 784-8-10 network on 1,000 images: the same shape of
    /// problem in a few MB. Prune leaves best and last, and vacuum gives the space back.
    @Test func runKeptEveryEpochShrinksToBestAndLastAndTheFileShrinks() throws {
        // Given 300 epochs, each checkpoint kept
        let sandbox = try Sandbox()
        let trained = try sandbox.run([
            "train", "--epochs", "300", "--keep-every", "1", "--hidden", "8", "--train-limit",
            "1000", "--val-size", "200", "--batch-size", "100",
        ])
        expectSuccess(trained)
        #expect(try checkpointEpochs(sandbox).count == 300)
        let status = try sandbox.run(["db", "status"]).stdout
        #expect(status.contains("checkpoint space (top 1)"), "\(status)")
        let before = try fileSize(sandbox.database) + fileSize(sandbox.database + "-wal")

        // When pruned to best and last, then vacuumed
        expectSuccess(try sandbox.run(["prune", "--keep", "best,last"]))
        let vacuum = try sandbox.run(["db", "vacuum"])

        // Then two checkpoints remain (one if the best is the last), and the file is a
        // fraction of its size
        expectSuccess(vacuum)
        let best = try integer(sandbox, "SELECT best_epoch FROM run_summary")
        #expect(try checkpointEpochs(sandbox) == Set([best, 300]).sorted())
        let after = try fileSize(sandbox.database) + fileSize(sandbox.database + "-wal")
        #expect(after * 5 < before, "\(before) → \(after)")
        #expect(vacuum.stdout.hasPrefix("\(sandbox.database): "), "\(vacuum.stdout)")
        #expect(vacuum.stdout.contains(" MiB → "))
        let integrity = try sandbox.run(["sql", "--csv", "SELECT * FROM pragma_integrity_check"])
        #expect(integrity.lines == ["integrity_check", "ok"])
    }

    // MARK: - Helpers

    private func fileSize(_ path: String) throws -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }
}
