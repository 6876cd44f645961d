import ArgumentParser

extension MNISTLab {
    struct DB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db",
            abstract: "Inspect or upgrade the database file.",
            subcommands: [DBStatus.self, DBMigrate.self])
    }
}
