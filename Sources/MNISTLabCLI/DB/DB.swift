import ArgumentParser

extension MNISTLab {
    struct DB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db",
            abstract: "Inspect, upgrade or compact the database file.",
            subcommands: [DBStatus.self, DBMigrate.self, DBVacuum.self])
    }
}
