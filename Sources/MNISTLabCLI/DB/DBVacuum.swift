import ArgumentParser
import Store

extension MNISTLab {
    struct DBVacuum: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vacuum",
            abstract: "Give the space of removed runs and pruned checkpoints back to the disk.",
            discussion: """
                Rebuilds the file without its free pages (SQLite's VACUUM, after folding the \
                write-ahead log in with wal_checkpoint(TRUNCATE)), or the database's tables on \
                a PostgreSQL server (VACUUM FULL), and prints its size before and after. \
                Refused, changing nothing, while a run is being trained: both rewrite all of \
                it. A command that writes waits for it.

                Examples:
                  mnistlab prune --keep best,last && mnistlab db vacuum
                """)

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openExisting()
            defer { try? store.close() }
            let result = try store.vacuum()
            print(
                "\(store.location): \(Format.mebibytes(result.bytesBefore)) → "
                    + "\(Format.mebibytes(result.bytesAfter)) "
                    + "(\(Format.mebibytes(result.bytesBefore - result.bytesAfter)) given back)")
        }
    }
}
