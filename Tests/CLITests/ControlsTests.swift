import Foundation
import TestSupport
import Testing

/// `--patience`, `--lr-schedule` and `--weight-decay` from the command line: recorded, shown,
/// exported, swept and validated.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct ControlsTests {
    func csv(_ sandbox: Sandbox, _ query: String) throws -> [String] {
        Array(try sandbox.run(["sql", "--csv", query]).lines.dropFirst())
    }

    @Test func patienceStopsARunAndEveryViewSaysWhere() throws {
        // Given a small training set that a fast rate overfits within a few epochs
        let sandbox = try Sandbox()

        // When it trains with a patience of 2 and far more epochs than it needs
        let output = try sandbox.train([
            "--epochs", "60", "--learning-rate", "0.5", "--momentum", "0.9", "--patience", "2",
        ])

        // Then the run completed 2 epochs after its best, before the planned 60
        #expect(output.status == 0, "\(output.stderr)")
        let row = try csv(
            sandbox, "SELECT status, best_epoch, last_epoch, stopped_early_at, patience FROM run_summary")
        let fields = try #require(row.first).split(separator: ",").map(String.init)
        let best = try #require(Int(fields[1]))
        #expect(fields == ["completed", "\(best)", "\(best + 2)", "\(best + 2)", "2"])
        #expect(best + 2 < 60)
        #expect(output.stderr.contains("stopped early after epoch \(best + 2)"))
        // And runs, show and the report say so
        #expect(try sandbox.run(["runs"]).stdout.contains("stopped early at \(best + 2)"))
        #expect(try sandbox.run(["show", "1"]).stdout.contains("stopped early after epoch \(best + 2)"))
        #expect(try sandbox.run(["report", "1", "-o", "-"]).stdout.contains("stopped early @\(best + 2)"))
    }

    @Test func theRateOfEveryEpochIsRecordedShownAndExported() throws {
        // Given a run with a step schedule and weight decay, and a plain one
        let sandbox = try Sandbox()
        let trained = try sandbox.train([
            "--epochs", "4", "--lr-schedule", "step:2:0.5", "--weight-decay", "1e-4",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        try sandbox.train()

        // Then each epoch records the rate in effect and the run its settings
        #expect(try csv(sandbox, "SELECT learning_rate FROM epochs WHERE run_id = 1 ORDER BY epoch")
            == ["0.1", "0.1", "0.05", "0.05"])
        #expect(try csv(sandbox, "SELECT lr_schedule, weight_decay, min_learning_rate FROM run_summary WHERE id = 1")
            == ["step:2:0.5,0.0001,0.0"])
        #expect(trained.lines.last { $0.hasPrefix("epoch") }?.hasSuffix("lr 0.05") == true)
        // And export carries them, compare lists the settings that differ
        let header = try sandbox.run(["export", "1"]).lines[0].split(separator: ",").map(String.init)
        for column in ["epoch_learning_rate", "lr_schedule", "weight_decay", "patience", "min_delta"] {
            #expect(header.contains(column), "\(column)")
        }
        let compared = columnLabels(try sandbox.run(["compare", "1", "2"]).lines[0])
        #expect(compared.contains("lr schedule") && compared.contains("weight decay"))
        #expect(!compared.contains("patience"))
        #expect(try sandbox.run(["show", "1"]).lines.contains {
            $0.hasPrefix("schedule ") && $0.hasSuffix(" step:2:0.5")
        })
    }

    @Test func resumingWithAnotherScheduleForks() throws {
        // Given a finished run
        let sandbox = try Sandbox()
        try sandbox.train(["--keep-every", "1"])

        // When it is resumed from its last epoch with a cosine schedule
        let fork = try sandbox.run(["resume", "1", "--from", "last", "--lr-schedule", "cosine", "--epochs", "4"])

        // Then a child run records the schedule and the parent is unchanged
        #expect(fork.status == 0, "\(fork.stderr)")
        #expect(try csv(sandbox, "SELECT id, parent_run_id, parent_epoch, lr_schedule FROM runs ORDER BY id")
            == ["1,,,constant", "2,1,2,cosine"])
    }

    @Test func sweepSweepsTheControls() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run([
            "sweep", "--weight-decay", "0,0.001", "--lr-schedule", "constant,cosine", "--hidden", "16",
            "--epochs", "2", "--val-size", "200", "--batch-size", "100",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try csv(sandbox, "SELECT weight_decay, lr_schedule FROM runs WHERE sweep_id = 1 ORDER BY id")
            == ["0.0,constant", "0.0,cosine", "0.001,constant", "0.001,cosine"])
        let grid = try csv(sandbox, "SELECT grid FROM sweeps").joined()
        #expect(grid.contains("\"\"weight_decay\"\":[0,0.001]"))
        #expect(grid.contains("\"\"lr_schedule\"\":[\"\"constant\"\",\"\"cosine\"\"]"))
        #expect(output.stdout.contains("weight decay") && output.stdout.contains("schedule"))
    }

    @Test(arguments: [
        (["train", "--lr-schedule", "linear"], "--lr-schedule must be constant, step:EVERY:FACTOR, cosine or plateau:PATIENCE:FACTOR; got 'linear'."),
        (["train", "--lr-schedule", "step:0:0.5"], "EVERY or PATIENCE must be a whole number of at least 1 epoch; got '0'"),
        (["train", "--lr-schedule", "plateau:5:1.5"], "FACTOR must be a number between 0 and 1 (both excluded); got '1.5'"),
        (["train", "--lr-schedule", "cosine", "--min-learning-rate", "0.1"], "--min-learning-rate must be below the learning rate (0.1) for a cosine schedule; got 0.1."),
        (["train", "--weight-decay", "1e-50"], "--weight-decay must be 0 or a positive number Float32 can hold"),
        (["train", "--weight-decay", "inf"], "--weight-decay must be 0 or a positive number Float32 can hold"),
        (["train", "--min-delta", "nan"], "--min-delta must be a finite number of at least 0; got nan."),
        (["resume", "1", "--lr-schedule", "step:x:0.5"], "got 'x' in 'step:x:0.5'"),
        (["sweep", "--weight-decay", "0,x"], "--weight-decay has an invalid value 'x'"),
        (["sweep", "--lr-schedule", "cosine", "--min-learning-rate", "0.5"], "--min-learning-rate must be below the learning rate (0.1)"),
    ])
    func badControlValuesSayWhichLimit(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(arguments)
        #expect(output.status == 64)
        #expect(output.stderr.hasPrefix("Error: ") && output.stderr.contains(message), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
        #expect(fileBytes(sandbox.database) == nil)
    }
}
