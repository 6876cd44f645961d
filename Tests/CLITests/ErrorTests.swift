import Foundation
import TestSupport
import Testing

/// Every refusal is one line on standard error, a non-zero exit, and no change to the database.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct ErrorTests {
    @Test(arguments: [
        (["--learning-rate=-0.1"], "Learning rate must be positive; got -0.1."),
        // A negative number is a value, not a flag.
        (["--learning-rate", "-0.1"], "Learning rate must be positive; got -0.1."),
        (["--learning-rate", "nan"], "Learning rate must be a positive number; got nan."),
        // Each limit says which limit.
        (
            ["--learning-rate", "1e308"],
            "Learning rate is too large for Float32, whose largest value is 3.4028235e+38; got 1e+308."
        ),
        (
            ["--learning-rate", "1e-50"],
            "Learning rate is too small for Float32: it rounds to 0 (the smallest positive Float32 is 1e-45); got 1e-50."
        ),
        (["--hidden", "100000000"], "Hidden widths must be at most 65536 each; got '100000000'."),
        (["--hidden", "-5"], "Hidden widths must be positive integers"),
        (["--hidden", "100,99999999999999999999"], "Hidden widths must be at most 65536 each; got '100,99999999999999999999'."),
        (["--batch-size", "0"], "Batch size must be at least 1; got 0."),
        (["--batch-size", "-5"], "Batch size must be at least 1; got -5."),
        (["--epochs", "-3"], "Epochs must be at least 1; got -3."),
        (["--epochs", "0"], "Epochs must be at least 1; got 0."),
        (["--momentum", "1"], "Momentum must be in [0, 1); got 1.0."),
        (["--hidden", "100,0"], "Hidden widths must be positive integers"),
        (["--activation", "tanh"], "The value 'tanh' is invalid for '--activation <activation>'"),
        (["--keep-every", "0"], "--keep-every must be at least 1; got 0."),
        (["--val-size", "0"], "--val-size must be at least 1; got 0."),
        (["--train-limit", "0"], "--train-limit must be at least 1; got 0."),
        (["--name", ""], "A run name cannot be empty; got ''."),
        (["--name", "a\nb"], "A run name cannot contain control characters such as a newline or a tab; got 'a\\nb'."),
        (["--data", ""], "--data cannot be empty"),
        (["--bogus"], "Unknown option '--bogus'"),
    ])
    func badTrainOptionIsRefusedBeforeAnythingIsWritten(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["train"] + arguments)
        expectOneLineError(output, status: 64, startingWith: message)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test(arguments: [
        // Values checked only once the data is read are bad input all the same.
        (["train", "--val-size", "1200"], "Validation size must be between 1 and 1199 for 1200 training images; got 1200."),
        (["train", "--val-size", "200", "--train-limit", "70000"], "Train limit must be between 1 and 1000"),
        (["train", "--val-size", "200", "--batch-size", "100000"], "A batch of 100000 examples is larger than the 1000 training images, so every epoch would be one batch of 1000. Pass a --batch-size of at most 1000."),
        (["sweep", "--val-size", "200", "--batch-size", "50,5000"], "A batch of 5000 examples is larger than the 1000 training images"),
        (["train", "--min-delta", "0.01"], "--min-delta only counts for early stopping: pass --patience N (from 1) with it, or leave it out."),
        (["train", "--patience", "0", "--min-delta", "0.01"], "--min-delta only counts for early stopping"),
        // sweep: each trial is refused as `train` would refuse it, by the same rule.
        (["sweep", "--min-delta", "0.01"], "--min-delta only counts for early stopping: pass --patience N (from 1) with it, or leave it out."),
        (["sweep", "--patience", "0,5", "--min-delta", "0,0.01"], "--min-delta only counts for early stopping"),
        (["train", "--val-size", "200", "--db", ""], "--db is empty; give a file path or a postgres:// URL."),
        (["runs", "--db", ""], "--db is empty; give a file path or a postgres:// URL."),
        // Names, tags and notes: bounded, and nothing that reorders or hides text.
        (["train", "--name", String(repeating: "n", count: 201)], "A run name must be at most 200 characters; got '\(String(repeating: "n", count: 60))…' (201 characters)."),
        (["train", "--name", "report\u{202E}lmth.exe"], "A run name cannot contain invisible formatting characters such as U+202E, which reorder or hide the text around them; got 'report\\u{202e}lmth.exe'."),
        (["train", "--name", "a\u{200B}b"], "A run name cannot contain invisible formatting characters such as U+200B"),
        (["rename", "1", "x\u{2066}y"], "A run name cannot contain invisible formatting characters such as U+2066"),
        (["tag", "1", String(repeating: "t", count: 65)], "A tag must be at most 64 characters"),
        (["tag", "1", "a\u{202D}b"], "A tag cannot contain invisible formatting characters such as U+202D"),
        (["note", "1", "a\u{202E}b"], "A note cannot contain invisible formatting characters such as U+202E"),
        (["note", "1", String(repeating: "w", count: 10_001)], "A note must be at most 10000 characters"),
    ])
    func badInputIsRefusedWith64(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(arguments)
        expectOneLineError(output, status: 64, startingWith: message)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func passwordWithAnAtSignGetsAdviceToPercentEncode() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["runs", "--db", "postgres://lab:se@cr:et/x@127.0.0.1:5432/db"])
        expectOneLineError(output, status: 64, startingWith: "Cannot open")
        #expect(output.stderr.contains("percent-encode it (@ as %40"), "\(output.stderr)")
        #expect(!output.stderr.contains("port"), "\(output.stderr)")
        #expect(!output.stderr.contains("se@cr"), "\(output.stderr)")
    }

    @Test func resumeRefusesAMinimumImprovementWithoutEarlyStopping() throws {
        // Given a run trained without --patience
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let before = fileBytes(sandbox.database)

        // When it is resumed with only --min-delta, Then that is refused and nothing changes
        expectOneLineError(
            try sandbox.run(["resume", "1", "--epochs", "2", "--min-delta", "0.01"]), status: 64,
            startingWith: "A minimum improvement only counts for early stopping, which run 1 does not use. Pass --patience N (from 1) with --min-delta, or leave --min-delta out.")
        #expect(fileBytes(sandbox.database) == before)
        // And with --patience it forks as asked
        #expect(try sandbox.run(["resume", "1", "--epochs", "2", "--patience", "5", "--min-delta", "0.01"]).status == 0)
    }

    @Test func negativeRunIdIsBlamed() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        for command in [["rename", "-5", "x"], ["note", "-5", "x"], ["show", "-5"]] {
            let output = try sandbox.run(command)
            #expect(output.status == 64, "\(command): \(output.stderr)")
            #expect(output.stderr.contains("-5"), "\(command): \(output.stderr)")
            #expect(!output.stderr.contains("'x'"), "\(command): \(output.stderr)")
        }
    }

    @Test func unknownRunIsNamed() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        for command in [["show", "9"], ["best", "9"], ["resume", "9"], ["compare", "1", "9"]] {
            let output = try sandbox.run(command)
            expectOneLineError(output, status: 1, startingWith: "There is no run 9 in this database")
        }
    }

    @Test func queryWithoutADatabaseSaysSo() throws {
        let sandbox = try Sandbox()
        for command in [["runs"], ["show", "1"], ["sql", "SELECT 1"], ["db", "status"]] {
            let output = try sandbox.run(command)
            expectOneLineError(output, status: 1, startingWith: "No database at \(sandbox.database)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func importFromWhatIsNotAStoreNamesTheSource() throws {
        // Given a store of one run, a path to nothing and a text file
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let text = sandbox.database + ".txt"
        try Data("not a database\n".utf8).write(to: URL(fileURLWithPath: text))

        // When each is imported
        let missing = try sandbox.run(["import", sandbox.database + ".missing"])
        let notOurs = try sandbox.run(["import", text])

        // Then each says SOURCE is wrong, not --db, and the store still has its one run
        expectOneLineError(missing, status: 1, startingWith: "No database at \(sandbox.database).missing to import from")
        #expect(notOurs.status == 1 && notOurs.stderr.split(separator: "\n").count == 1, "\(notOurs.stderr)")
        for output in [missing, notOurs] {
            #expect(output.stderr.contains("SOURCE must be an mnistlab SQLite file"), "\(output.stderr)")
            #expect(!output.stderr.contains("--db"), "\(output.stderr)")
        }
        #expect(try sandbox.run(["runs", "--json"]).stdout.components(separatedBy: "\"id\"").count == 2)
    }

    @Test func fileThatIsNotADatabaseIsLeftAlone() throws {
        // Given a text file where the database should be
        let sandbox = try Sandbox()
        try Data("not a database\n".utf8).write(to: URL(fileURLWithPath: sandbox.database))

        // When training and querying try to use it
        for command in [["train", "--epochs", "1", "--val-size", "200"], ["runs"]] {
            let output = try sandbox.run(command)
            // Then each says what is wrong, and the file is unchanged
            #expect(output.status == 1)
            #expect(output.stderr.contains("not"), "\(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1)
        }
        #expect(fileBytes(sandbox.database) == Data("not a database\n".utf8))
    }

    @Test func missingDatasetIsNamed() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["train", "--data", "/nonexistent"])
        expectOneLineError(output, status: 1, startingWith: "Cannot find train-images-idx3-ubyte.gz")
    }

    @Test func sqlRefusesWrites() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let before = fileBytes(sandbox.database)
        for statement in [
            "DELETE FROM runs", "UPDATE runs SET name = 'x'", "DROP TABLE epochs",
            "ATTACH DATABASE '\(sandbox.directory.path)/other.sqlite' AS other",
            "PRAGMA writable_schema = 1", "CREATE TABLE t(x)",
        ] {
            let output = try sandbox.run(["sql", statement])
            #expect(output.status == 1, "\(statement): \(output.stdout)")
            #expect(output.stderr.hasPrefix("Error: "), "\(statement)")
            #expect(output.stderr.split(separator: "\n").count == 1, "\(statement): \(output.stderr)")
        }
        #expect(fileBytes(sandbox.database) == before)
        #expect(!FileManager.default.fileExists(atPath: "\(sandbox.directory.path)/other.sqlite"))
    }

    @Test func largestSeedIsShownAsGivenAndCanBePassedBack() throws {
        // Given a run with the largest seed (stored as its Int64 bit pattern, -1)
        let sandbox = try Sandbox()
        let seed = "18446744073709551615"
        #expect(try sandbox.train(["--epochs", "1", "--seed", seed]).status == 0)

        // Then every command that prints the seed prints it as given
        let show = try sandbox.run(["show", "1"])
        #expect(show.lines.contains { $0.hasPrefix("seed") && $0.hasSuffix(seed) }, "\(show.stdout)")
        let runs = try sandbox.run(["runs", "--json"])
        #expect(runs.stdout.contains("\"seed\" : \(seed)"), "\(runs.stdout)")
        let export = try sandbox.run(["export", "1"])
        #expect(export.lines.count == 2 && export.lines[1].contains(",\(seed),"), "\(export.stdout)")
        #expect(try sandbox.run(["export", "1", "--format", "json"]).stdout.contains("\"seed\" : \(seed)"))

        // And passing it back trains the same run
        #expect(try sandbox.train(["--epochs", "1", "--seed", seed]).status == 0)
        let compare = try sandbox.run(["compare", "1", "2"])
        #expect(!compare.lines.contains { $0.hasPrefix("seed") }, "\(compare.stdout)")
        let weights = try sandbox.run(["sql", "--csv", "SELECT count(DISTINCT weights) FROM checkpoints"])
        #expect(weights.lines.last == "1")
    }

    @Test func helpForAnUnknownSubcommandIsAnError() throws {
        let sandbox = try Sandbox()
        expectOneLineError(
            try sandbox.run(["help", "nosuch"]), status: 64,
            startingWith: "No subcommand 'nosuch' in `mnistlab`; `mnistlab --help` lists them.")
        expectOneLineError(
            try sandbox.run(["help", "db", "nosuch"]), status: 64,
            startingWith: "No subcommand 'nosuch' in `mnistlab db`")
        #expect(try sandbox.run(["help", "db", "status"]).status == 0)
    }

    @Test func unwritableOutputIsNamedInOneLine() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let directory = sandbox.directory.path
        for command in [
            ["export", "1", "-o", directory], ["report", "1", "-o", directory],
            ["export-weights", "1", "-o", directory],
        ] {
            expectOneLineError(
                try sandbox.run(command), status: 1,
                startingWith: "Cannot write \(directory): Is a directory")
        }
        expectOneLineError(
            try sandbox.run(["export", "1", "-o", "\(directory)/no/such/file.csv"]), status: 1,
            startingWith: "Cannot write \(directory)/no/such/file.csv: No such file or directory")
    }

    @Test func checkpointThatWasNotKeptListsThoseThatWere() throws {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "4", "--keep-every", "100"])
        let kept = try sandbox.run(["sql", "--csv", "SELECT group_concat(epoch, ', ') FROM checkpoints"])
        let pruned = try sandbox.run([
            "sql", "--csv", "SELECT min(epoch) FROM epochs WHERE epoch NOT IN (SELECT epoch FROM checkpoints)",
        ]).lines[1]
        let output = try sandbox.run(["evaluate", "1", "--epoch", pruned])
        expectOneLineError(
            output, status: 1,
            startingWith: "Run 1 kept no checkpoint at epoch \(pruned); epochs with a checkpoint: \(kept.lines[1]).")
    }
}

/// An empty string where a path is expected is refused before anything runs.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct EmptyPathTests {
    @Test(arguments: [
        (["resume", "1", "--data", ""], "--data cannot be empty"),
        (["evaluate", "1", "--data", ""], "--data cannot be empty"),
        (["train", "--data", ""], "--data cannot be empty"),
        (["export", "1", "-o", ""], "-o cannot be empty"),
        (["export-weights", "1", "-o", ""], "-o cannot be empty"),
        (["report", "1", "-o", ""], "-o cannot be empty"),
    ])
    func emptyPathIsRefused(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(arguments)
        #expect(output.status == 64, "\(output.stderr)")
        #expect(output.stderr.hasPrefix("Error: \(message)"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }
}
