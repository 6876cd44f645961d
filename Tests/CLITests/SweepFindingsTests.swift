import Foundation
import TestSupport
import Testing

/// `sweeps ID`: what a sweep found (importance, best values, seeds), in text and JSON.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct SweepFindingsCLITests {
    @Test func sweepsIDShowsImportanceBestValuesAndSeedGroupsInTextAndJSON() throws {
        // Given a finished 2 learning rates × 2 seeds sweep
        let sandbox = try Sandbox()
        let sweep = try sandbox.run([
            "sweep", "--learning-rate", "0.05,0.5", "--seed", "1,2", "--hidden", "16", "--epochs", "1",
            "--val-size", "200", "--batch-size", "100",
        ])
        #expect(sweep.status == 0, "\(sweep.stderr)")

        // When it is shown
        let text = try sandbox.run(["sweeps", "1"])
        #expect(text.status == 0, "\(text.stderr)")

        // Then the importance table names its method and ranks the two varying settings
        let lines = text.lines
        let header = try #require(lines.firstIndex { $0.hasPrefix("importance for best validation loss") })
        #expect(lines[header].contains("fANOVA over a random forest") && lines[header].contains("4 finished trials"))
        #expect(lines[header + 1].split(separator: " ", omittingEmptySubsequences: true) == ["setting", "share"])
        let ranked = Set(lines[(header + 2)...(header + 3)].map { String($0.split(separator: " ")[0]) })
        #expect(ranked == ["learning_rate", "seed"])
        // And the settings that never varied are listed as constant
        let constant = try #require(lines.first { $0.hasPrefix("constant, not ranked: ") })
            .dropFirst("constant, not ranked: ".count).components(separatedBy: ", ")
        #expect(constant.contains("activation") && constant.contains("hidden"))
        #expect(!constant.contains("learning_rate") && !constant.contains("seed"))

        // And the JSON carries the same, the best settings those of the best run
        let output = try sandbox.run(["sweeps", "1", "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let importance = try #require(json["importance"] as? [String: Any])
        #expect(importance["metric"] as? String == "best_val_loss")
        #expect(importance["finished_trials"] as? Int == 4)
        let shares = try #require(importance["shares"] as? [[String: Any]])
        #expect(Set(shares.compactMap { $0["setting"] as? String }) == ["learning_rate", "seed"])
        let total: Double = shares.compactMap { $0["share"] as? Double }.reduce(0, +)
        #expect(abs(total - 1) < 1e-9)
        let best = try sandbox.run([
            "sql", "--csv", "SELECT id, learning_rate, seed FROM run_summary WHERE sweep_id = 1 ORDER BY best_val_loss, id LIMIT 1",
        ]).lines.last?.split(separator: ",").map(String.init)
        let bestSettings = try #require(json["best_settings"] as? [String: Any])
        #expect(bestSettings["run_id"] as? Int == best.flatMap { Int($0[0]) })
        let values = try #require(bestSettings["values"] as? [String: String])
        #expect(values["learning_rate"].flatMap(Double.init) == best.flatMap { Double($0[1]) })
        #expect(values["seed"] == best?[2])
        #expect(lines.contains { $0.hasPrefix("best values found (run \(best?[0] ?? "?")): learning_rate=") })

        // And each learning rate's mean over its two seeds is the mean of its runs, ranked
        let groups = try #require(json["seed_groups"] as? [[String: Any]])
        #expect(groups.count == 2)
        #expect(groups.map { $0["rank"] as? Int } == [1, 2])
        let means = try sandbox.run([
            "sql", "--csv", "SELECT AVG(best_val_loss) FROM run_summary WHERE sweep_id = 1 GROUP BY learning_rate ORDER BY AVG(best_val_loss)",
        ]).lines.dropFirst().compactMap(Double.init)
        let shown = groups.compactMap { $0["mean_best_val_loss"] as? Double }
        #expect(shown.count == 2 && zip(shown, means).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(groups.allSatisfy { ($0["seeds"] as? [Int])?.sorted() == [1, 2] })
        #expect(groups.allSatisfy { $0["std_best_val_loss"] is Double })
        #expect(lines.contains { $0.hasPrefix("configurations over their seeds, ranked by mean:") })
    }

    @Test func aSweepWithoutTwoFinishedTrialsSaysSo() throws {
        // Given a sweep created but not yet trained
        let sandbox = try Sandbox()
        let created = try sandbox.run([
            "sweep", "--learning-rate", "0.05,0.5", "--hidden", "16", "--epochs", "1", "--val-size", "200",
            "--detach",
        ])
        #expect(created.status == 0, "\(created.stderr)")

        // Then `sweeps 1` says importance needs 2 finished trials, and the JSON has no shares
        let text = try sandbox.run(["sweeps", "1"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.lines.contains("  needs at least 2 finished trials; 0 finished trials so far."))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(try sandbox.run(["sweeps", "1", "--json"]).stdout.utf8))
                as? [String: Any])
        let importance = try #require(json["importance"] as? [String: Any])
        #expect(importance["shares"] is NSNull || importance["shares"] == nil)
        #expect(json["seed_groups"] as? [Any] != nil)
    }
}
