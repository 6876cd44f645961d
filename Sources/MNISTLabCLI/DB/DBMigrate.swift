import ArgumentParser
import Store

extension MNISTLab {
    struct DBMigrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Upgrade the database to this build's schema.",
            discussion: """
                Query commands open the database read-only and never migrate it; a database \
                of an older schema is upgraded here, or by the next command that writes \
                (train, resume, sweep, evaluate). A missing or empty file is created. All \
                pending migrations apply in one transaction.

                Examples:
                  mnistlab db migrate
                  mnistlab db migrate --db experiments.sqlite
                """)

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            // A missing or empty file has schema 0, and is created.
            let before =
                (try? database.openForReading(allowOlderSchema: true).status())?.schemaVersion ?? 0
            let store = try database.openForWriting()
            defer { try? store.close() }
            let after = try store.status()
            if before == after.schemaVersion {
                print("schema \(after.schemaVersion): already up to date")
            } else {
                print("schema \(before) → \(after.schemaVersion)")
                for m in after.migrations where m.version > before {
                    print("  \(m.version)  \(m.name)")
                }
            }
        }
    }
}
