import ArgumentParser
import Store

extension MNISTLab {
    struct Untag: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove tags from runs.",
            discussion: """
                The leading numbers are run ids, the words after them tags. A tag a run does \
                not have is ignored.

                Examples:
                  mnistlab untag 3 baseline
                  mnistlab untag 4 5 6 promising
                """)

        @Argument(help: ArgumentHelp("Ids of the runs, then the tags.", valueName: "run-then-tag"))
        var items: [String] = []

        @OptionGroup var database: DatabaseOptions

        func validate() throws { _ = try RunsAndTags(items) }

        func run() throws {
            let parsed = try RunsAndTags(items)
            let store = try database.openExisting()
            defer { try? store.close() }
            let ids = try store.ids(parsed.runs)
            let removed = try store.untagRuns(ids, removing: parsed.tags)
            let runs = RunsAndTags.runList(ids)
            print("removed \(removed) tag\(removed == 1 ? "" : "s") from \(runs)")
        }
    }
}
