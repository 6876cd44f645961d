import Foundation
import TestSupport
import Testing

/// Every refusal is one line on standard error, a non-zero exit, and no change to the database.
struct ErrorTests {
    func expectOneLineError(_ output: Output, status: Int32, startingWith prefix: String) {
        #expect(output.status == status, "\(output.stderr)")
        #expect(output.stderr.hasPrefix("Error: " + prefix), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
    }

    @Test(arguments: [
        (["--learning-rate=-0.1"], "Learning rate must be a positive number; got -0.1."),
        (["--learning-rate", "nan"], "Learning rate must be a positive number; got nan."),
        (["--batch-size", "0"], "Batch size must be at least 1; got 0."),
        (["--epochs", "0"], "Epochs must be at least 1; got 0."),
        (["--momentum", "1"], "Momentum must be in [0, 1); got 1.0."),
        (["--hidden", "100,0"], "Hidden widths must be positive integers"),
        (["--activation", "tanh"], "The value 'tanh' is invalid for '--activation <activation>'"),
        (["--keep-every", "0"], "--keep-every must be at least 1; got 0."),
        (["--val-size", "0"], "--val-size must be at least 1; got 0."),
        (["--train-limit", "0"], "--train-limit must be at least 1; got 0."),
        (["--bogus"], "Unknown option '--bogus'"),
    ])
    func badTrainOptionIsRefusedBeforeAnythingIsWritten(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["train"] + arguments)
        expectOneLineError(output, status: 64, startingWith: message)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
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

    @Test func fileThatIsNotADatabaseIsLeftAlone() throws {
        // Given a text file where the database should be
        let sandbox = try Sandbox()
        try Data("not a database\n".utf8).write(to: URL(fileURLWithPath: sandbox.database))

        // When training and querying try to use it
        for command in [["train", "--epochs", "1"], ["runs"]] {
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
}
