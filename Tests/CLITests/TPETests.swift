import Foundation
import TestSupport
import Testing

/// `sweep --tpe N [--startup K]`: the first K trials drawn as `--random` draws them, the rest
/// proposed by TPE from the trials finished so far, the same again with one worker.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct TPETests {
    static let stores: [Sandbox.Store] = postgresAvailable ? [.sqlite, .postgres] : [.sqlite]
    static let space = [
        "--learning-rate", "0.01:1:log", "--hidden", "8:32", "--momentum", "0,0.5,0.9",
        "--sample-seed", "7", "--epochs", "1", "--val-size", "200", "--batch-size", "100",
    ]

    /// Each trial's number, status and settings, in number order.
    func trials(_ sandbox: Sandbox) throws -> [String] {
        let output = try sandbox.run(["sql", "--csv", "SELECT number, status, settings FROM trials ORDER BY number"])
        expectSuccess(output)
        return Array(output.lines.dropFirst())
    }

    @Test(arguments: stores)
    func aTPESweepTrainsNTrialsStartingWithTheRandomDrawsAndProposesTheSameAgain(
        store: Sandbox.Store
    ) throws {
        // Given a TPE sweep of 6 trials, 3 drawn at random first, trained by one worker
        let first = try Sandbox(store)
        let output = try first.run(["sweep", "--tpe", "6", "--startup", "3"] + Self.space)
        #expect(output.status == 0, "\(output.stderr)")

        // Then 6 trials completed, each its own settings, and the sweep records its search
        let trained = try trials(first)
        #expect(trained.count == 6, "\(trained)")
        #expect(trained.allSatisfy { $0.contains(",completed,") }, "\(trained)")
        #expect(Set(trained.map { $0.split(separator: ",", maxSplits: 2)[2] }).count == 6)
        #expect(try first.run(["sql", "--csv", "SELECT size, tpe_startup FROM sweeps"]).lines.last == "6,3")
        #expect(try integer(first, "SELECT count(*) FROM runs WHERE sweep_id = 1 AND status = 'completed'") == 6)

        // And its first 3 are the trials `--random 3` draws with the same seed
        let random = try Sandbox(store)
        expectSuccess(try random.run(["sweep", "--random", "3", "--detach"] + Self.space))
        let drawn = try trials(random).map { $0.replacingOccurrences(of: ",pending,", with: ",completed,") }
        #expect(Array(trained.prefix(3)) == drawn)

        // And the same command on a fresh store proposes the same 6 trials
        let again = try Sandbox(store)
        #expect(try again.run(["sweep", "--tpe", "6", "--startup", "3"] + Self.space).status == 0)
        #expect(try trials(again) == trained)
    }

    @Test func aDetachedTPESweepWithAshaIsTrainedByAWorker() throws {
        // Given a detached TPE sweep with ASHA (rungs at 1 and 2 epochs)
        let sandbox = try Sandbox()
        let common = Array(Self.space.dropLast(6)) + ["--epochs", "2", "--val-size", "200", "--batch-size", "100"]
        let created = try sandbox.run(
            ["sweep", "--tpe", "5", "--startup", "2", "--asha", "--min-epochs", "1", "--reduction-factor", "2", "--detach"]
                + common)
        expectSuccess(created)
        #expect(created.stdout.hasPrefix("sweep 1: 5 trials"), "\(created.stdout)")
        #expect(try integer(sandbox, "SELECT count(*) FROM trials") == 2)

        // When a worker trains it
        expectSuccess(try sandbox.run(["worker", "--sweep", "1"]))

        // Then all 5 trials exist, each reached rung 0, and none is left pending or running
        #expect(try integer(sandbox, "SELECT count(*) FROM trials") == 5)
        #expect(try integer(sandbox, "SELECT count(DISTINCT trial_id) FROM trial_rungs WHERE rung = 0") == 5)
        #expect(try integer(sandbox, "SELECT count(*) FROM trials WHERE status IN ('pending', 'running', 'paused')") == 0)
    }

    @Test func badTPEOptionsAreRefusedInOneLineAndWriteNothing() throws {
        let sandbox = try Sandbox()
        for (arguments, message) in [
            (["--tpe", "3", "--startup", "4"], "Error: --startup must be from 1 to --tpe (3); got 4.\n"),
            (["--tpe", "3", "--startup", "0"], "Error: --startup must be from 1 to --tpe (3); got 0.\n"),
            (["--tpe", "3", "--random", "3"], "Error: --tpe and --random are two ways to search; give one.\n"),
            (["--tpe", "0"], "Error: --tpe must be from 1 to 1000; got 0.\n"),
            (["--startup", "2"], "Error: --startup sets how many of a TPE search's trials are drawn at random; add --tpe N.\n"),
            (
                ["--tpe", "5", "--momentum", "0,0.9"],
                "Error: --tpe 5 asks for more trials than the lists have combinations (2); give a range or lower --tpe.\n"
            ),
            (
                ["--tpe", "5", "--learning-rate", "0.01:1", "--weight-decay", "0,0.001"],
                "Error: --tpe searches --learning-rate, --hidden, --activation, --loss, --momentum, --batch-size and --seed; give the other settings one value each.\n"
            ),
        ] {
            let output = try sandbox.run(["sweep", "--epochs", "1"] + arguments)
            #expect(output.status == 64, "\(arguments)")
            #expect(output.stderr == message, "\(output.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }
}
