import ArgumentParser
import Foundation
import Store
import Training

/// `--db`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "SQLite file or postgres:// URL that holds the runs (default: $MNISTLAB_DB, else ./mnistlab.sqlite).",
            valueName: "path-or-url"))
    var db: String?

    /// The path or URL given, else $MNISTLAB_DB, else ./mnistlab.sqlite. An empty one (`--db
    /// ""`, or MNISTLAB_DB set but empty) is refused rather than read as SQLite's temporary
    /// database.
    var location: String {
        get throws {
            if let db {
                guard !db.isEmpty else {
                    throw MNISTLabError.badInput("--db is empty; give a file path or a postgres:// URL.")
                }
                return db
            }
            if let variable = ProcessInfo.processInfo.environment["MNISTLAB_DB"] {
                guard !variable.isEmpty else {
                    throw MNISTLabError.badInput(
                        "MNISTLAB_DB is set but empty; give it a file path or a postgres:// URL, or unset it to use ./mnistlab.sqlite."
                    )
                }
                return variable
            }
            return "mnistlab.sqlite"
        }
    }

    /// Opens (creating and migrating if needed) for commands that record new runs.
    func openForWriting() throws -> Store {
        announcingReconnects(try Store.open(location: try location))
    }

    /// Opens an existing database to write to (resume, evaluate's record): a missing file is
    /// an error rather than a new empty database.
    func openExisting() throws -> Store {
        announcingReconnects(try Store.open(location: try existingLocation()))
    }

    /// `store`, saying on standard error when it starts waiting out a lost connection to its
    /// server, so that a trainer that stops printing epochs says why.
    private func announcingReconnects(_ store: Store) -> Store {
        let location = store.location
        store.onReconnecting { window in
            let line = "Lost the connection to \(location); reconnecting for up to \(Int(window)) s.\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        return store
    }

    /// Opens read-only for commands that only read: nothing is created, migrated or locked,
    /// and a file the user may only read works.
    func openForReading(allowOlderSchema: Bool = false) throws -> Store {
        try Store.open(
            location: try existingLocation(), readOnly: true, allowOlderSchema: allowOlderSchema)
    }

    /// How long a run this process trains stays held without a sign of life: the default
    /// unless $MNISTLAB_LEASE_SECONDS says otherwise (a slow network file system, or tests).
    var leaseSeconds: Double {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["MNISTLAB_LEASE_SECONDS"] else {
                return Timeouts.lease
            }
            guard let seconds = Double(text), Timeouts.leaseRange.contains(seconds) else {
                throw MNISTLabError.badInput(
                    "MNISTLAB_LEASE_SECONDS must be a number of seconds \(Timeouts.leaseRangeText); got '\(text)'.")
            }
            return seconds
        }
    }

    /// The location, when it is a URL or names a file that exists. (A server's database that
    /// does not exist is the engine's to report.)
    func existingLocation() throws -> String {
        let path = try location
        guard Self.mayExist(path) else {
            throw MNISTLabError(
                "No database at \(path); train a run first (`mnistlab train`) or pass --db.")
        }
        return path
    }

    /// Whether `location` may name a store: a URL (the server says whether its database
    /// exists), or a file that exists.
    static func mayExist(_ location: String) -> Bool {
        Store.isURL(location) || FileManager.default.fileExists(atPath: location)
    }
}

/// `--json`, shared by the query commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON for scripts instead of a table.")
    var json = false
}
