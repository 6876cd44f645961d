import ArgumentParser
import Foundation
import Store

/// `--db`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "SQLite file that holds the runs (default: $MNISTLAB_DB, else ./mnistlab.sqlite).")
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["MNISTLAB_DB"] ?? "mnistlab.sqlite"
    }

    /// Opens (creating and migrating if needed) for commands that record runs.
    func openForWriting() throws -> Store {
        try Store.open(path: path)
    }

    /// Opens an existing database for commands that only read; a missing file is an error
    /// rather than a new empty database.
    func openExisting() throws -> Store {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MNISTLabError(
                "No database at \(path); train a run first (`mnistlab train`) or pass --db.")
        }
        return try Store.open(path: path)
    }
}

/// `--json`, shared by the query commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON for scripts instead of a table.")
    var json = false
}
