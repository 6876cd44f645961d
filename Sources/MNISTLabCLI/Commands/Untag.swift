import ArgumentParser
import Store

extension MNISTLab {
    struct Untag: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove tags from runs.",
            discussion: """
                The leading numbers (or whole uids) are runs, the words after them tags. A tag \
                a run does not have is ignored.

                Examples:
                  mnistlab untag 3 baseline
                  mnistlab untag 4 5 6 promising
                """)

        @OptionGroup var items: RunsThenTags
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openExisting()
            defer { try? store.close() }
            let (ids, tags) = try items.resolve(in: store)
            let removed = try store.untagRuns(ids, removing: tags)
            print("removed \(removed) tag\(removed == 1 ? "" : "s") from \(RunsThenTags.runList(ids))")
        }
    }
}
