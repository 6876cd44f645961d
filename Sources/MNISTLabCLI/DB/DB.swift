import ArgumentParser

extension MNISTLab {
    struct DB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db",
            abstract: "Inspect the database file.",
            subcommands: [DBStatus.self])
    }
}
