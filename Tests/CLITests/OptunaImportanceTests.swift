import Foundation
import TestSupport
import Testing

/// `sweeps ID`'s importance against Optuna's own on the same trials (issue 26): a real small
/// random search, its trials handed to `Tests/Python/optuna_importance.py`, which builds an
/// Optuna study of them and runs `get_param_importances` (fANOVA, Optuna's default, its seed
/// pinned), in the virtual environment that `.ci/run` makes. Outside CI without it the test is
/// skipped.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct OptunaImportanceTests {
    /// The search: a learning rate over two and a half decades, which plainly decides a
    /// 3-epoch run on 1,000 images, beside modest ranges of width, momentum and batch size.
    static let ranges: [(setting: String, flag: String, range: String, type: String, log: Bool)] = [
        ("learning_rate", "--learning-rate", "0.01:3:log", "float", true),
        ("hidden", "--hidden", "16:64", "int", false),
        ("momentum", "--momentum", "0:0.5", "float", false),
        ("batch_size", "--batch-size", "40:100", "int", false),
    ]

    @Test(.enabled(if: TestPython.enabled, "needs MNISTLAB_TEST_PYTHON, a python with optuna, scikit-learn and numpy"))
    func importanceTopSettingAgreesWithOptunasOnTheSameTrials() throws {
        // Given a random search of 24 trials on the small dataset
        let python = try #require(TestPython.path, "MNISTLAB_TEST_PYTHON is not set (.ci/run sets it)")
        let sandbox = try Sandbox()
        let sweep = try sandbox.run(
            ["sweep", "--random", "24", "--sample-seed", "7", "--epochs", "3", "--val-size", "200"]
                + Self.ranges.flatMap { [$0.flag, $0.range] })
        try #require(sweep.status == 0, "\(sweep.stderr)")

        // When our importance is read from `sweeps 1 --json`
        let findings = try #require(try json(sandbox, ["sweeps", "1"]) as? [String: Any])
        let importance = try #require(findings["importance"] as? [String: Any])
        let ours = try #require(importance["shares"] as? [[String: Any]]).compactMap { $0["setting"] as? String }

        // And Optuna is given the same completed trials (settings and best validation loss)
        let columns = Self.ranges.map(\.setting)
        let rows = try sandbox.rows(
            "SELECT \(columns.joined(separator: ", ")), best_val_loss FROM run_summary "
                + "WHERE sweep_id = 1 AND trial_status = 'completed' ORDER BY id")
        let trials: [[String: Any]] = try rows.map { row in
            let fields = row.split(separator: ",").map(String.init)
            try #require(fields.count == columns.count + 1, "\(row)")
            let values = try fields.map { try #require(Double($0), "\(row)") }
            return ["params": Dictionary(uniqueKeysWithValues: zip(columns, values)), "value": values[columns.count]]
        }
        #expect(trials.count == importance["finished_trials"] as? Int)
        var distributions: [String: Any] = [:]
        for r in Self.ranges {
            let ends = r.range.split(separator: ":").compactMap { Double($0) }
            distributions[r.setting] = ["type": r.type, "low": ends[0], "high": ends[1], "log": r.log]
        }
        let input = sandbox.directory.appendingPathComponent("trials.json")
        try JSONSerialization.data(withJSONObject: ["distributions": distributions, "trials": trials, "seed": 0])
            .write(to: input)
        let output = try sandbox.run([TestPython.script("optuna_importance.py"), input.path], executable: python)
        try #require(output.status == 0, "\(output.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let theirs = try #require(answer["importance"] as? [[String: Any]]).compactMap { $0["setting"] as? String }

        // Then both rank the same setting first, the learning rate
        #expect(answer["trials"] as? Int == trials.count)
        #expect(Set(theirs) == Set(columns) && Set(ours) == Set(columns), "ours \(ours), Optuna's \(theirs)")
        #expect(ours.first == theirs.first, "ours \(findings["importance"] ?? ""), Optuna's \(answer)")
        #expect(ours.first == "learning_rate", "ours \(findings["importance"] ?? "")")
    }
}
