import ArgumentParser
import Foundation
import Training

/// The root command: `mnistlab <subcommand>`.
public struct MNISTLab: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mnistlab",
        abstract: "Train an MLP on MNIST and track every run, epoch and checkpoint in SQLite or PostgreSQL.",
        discussion: """
            Runs are recorded in ./mnistlab.sqlite, or in the file or postgres:// URL given by \
            --db or MNISTLAB_DB. Query them with the subcommands below or with plain SQL, e.g.
              sqlite3 mnistlab.sqlite "SELECT * FROM run_summary"
              psql postgres://lab@db.example/mnistlab -c "SELECT * FROM run_summary"
            """,
        version: MNISTLabVersion.current,
        subcommands: [
            Train.self, Resume.self, Sweep.self, Worker.self, Sweeps.self, Runs.self, Show.self,
            Best.self, Compare.self, Evaluate.self, Predict.self, Report.self, Serve.self,
            Export.self, ExportWeights.self, ExportModel.self, SQL.self, Tag.self, Untag.self,
            Note.self, Rename.self, Remove.self, Prune.self, Import.self, DB.self, Bench.self,
        ])
}

extension MNISTLab {
    /// Parses and runs the command line. Help and version go to standard output; every error
    /// is one line on standard error ("Error: …") with argument-parser's exit code (64 for a
    /// bad flag, 1 for a runtime failure), never a stack trace or a usage dump.
    public static func main() {
        StopSignal.ignoreClosedOutput()
        StopSignal.stopBetweenWrites()
        do {
            var command = try parse(Array(CommandLine.arguments.dropFirst()))
            try command.run()
            try StandardOutput.finish()
        } catch {
            fail(error)
        }
    }

    /// The command `arguments` (the command line after the program's name) ask for, parsed
    /// and validated as `main` does before it runs anything; throws what `main` reports.
    public static func parse(_ arguments: [String]) throws -> any ParsableCommand {
        try checkHelpTopic(arguments)
        try checkNegativeIDs(arguments)
        return try parseAsRoot(arguments)
    }

    /// How `main` ends for `error`: its exit code, and the message it prints after "Error: ".
    public static func outcome(of error: any Error) -> (code: ExitCode, message: String) {
        (
            ErrorWording.exitCode(for: error) ?? exitCode(for: error),
            ErrorWording.message(for: error) ?? message(for: error)
        )
    }

    /// Ends the process for `error` as `main` does: help to standard output, anything else
    /// one line on standard error with its exit code.
    static func fail(_ error: any Error) -> Never {
        let (code, message) = outcome(of: error)
        if code == .success {
            // Help and version, through the one output path, so a full disk is not a success.
            let text = fullMessage(for: error)
            if !text.isEmpty { StandardOutput.write(text + "\n") }
            Foundation.exit(0)
        }
        if isHelpRequest(error) { exit(withError: error) }
        if !message.isEmpty { printStandardError("Error: \(message)") }
        Foundation.exit(code.rawValue)
    }

    /// `mnistlab help nosuch` would print the root help and exit 0; an unknown subcommand
    /// is an error, as it is without `help`.
    static func checkHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help" else { return }
        var command: ParsableCommand.Type = MNISTLab.self
        for name in arguments.dropFirst() where !name.hasPrefix("-") {
            guard
                let subcommand = command.configuration.subcommands.first(where: {
                    $0._commandName == name
                })
            else {
                let path = (["mnistlab"] + arguments.dropFirst().prefix { $0 != name })
                    .joined(separator: " ")
                throw ValidationError(
                    "No subcommand '\(name)' in `\(path)`; `\(path) --help` lists them.")
            }
            command = subcommand
        }
    }

    /// `rename -5 x` would blame 'x': argument-parser takes `-5` for an unknown option and gives
    /// `x` to the run. A negative whole number that no option before it takes is refused as the
    /// id it was meant to be.
    static func checkNegativeIDs(_ arguments: [String]) throws {
        for (k, argument) in arguments.enumerated()
        where argument.count > 1 && argument.first == "-"
            && argument.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber })
        {
            let previous = k > 0 ? arguments[k - 1] : ""
            if previous.hasPrefix("-") && !previous.contains("=") && previous != "--" { continue }
            throw ValidationError("Ids are whole numbers from 1; got '\(argument)'.")
        }
    }

    private static func isHelpRequest(_ error: Error) -> Bool {
        fullMessage(for: error).hasPrefix("OVERVIEW:") || fullMessage(for: error).hasPrefix("USAGE:")
    }
}
