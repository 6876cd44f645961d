import ArgumentParser
import Store

extension MNISTLab {
    struct Tag: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add tags to runs.",
            discussion: """
                The leading numbers (or whole uids) are runs, the words after them tags. A tag has no \
                comma or control character and is not a number. Tags are stored in run_tags \
                and listed, sorted, in run_summary.tags; `mnistlab runs --tag T` finds them. \
                A live run may be tagged.

                Examples:
                  mnistlab tag 3 baseline
                  mnistlab tag 4 5 6 lr-sweep promising
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
            try store.tagRuns(ids, with: parsed.tags)
            let tags = parsed.tags.joined(separator: " ")
            print("tagged \(RunsAndTags.runList(ids)) \(tags)")
        }
    }
}

/// `RUN… TAG…`: the leading runs (ids, or whole uids: a shorter prefix could be a tag), then
/// at least one tag.
struct RunsAndTags {
    var runs: [RunReference]
    var tags: [String]

    init(_ items: [String]) throws {
        runs = items.prefix(while: Self.namesARun).map { item in
            Int64(item).map(RunReference.id) ?? .uidPrefix(item.lowercased())
        }
        tags = Array(items.dropFirst(runs.count))
        guard !runs.isEmpty else {
            throw ValidationError("Give the ids of the runs first, then the tags.")
        }
        guard !tags.isEmpty else {
            throw ValidationError(
                "Give at least one tag after the run ids (a tag is not a number).")
        }
        for tag in tags { try Check.require(.tag, Check.quoted(tag), Check.tag(tag)) }
    }

    private static func namesARun(_ item: String) -> Bool {
        Int64(item) != nil || (item.count == 36 && (try? RunReference.parse(item)) != nil)
    }

    /// "run 3" or "runs 3, 4".
    static func runList(_ runs: [Int64]) -> String {
        (runs.count == 1 ? "run " : "runs ") + runs.map(String.init).joined(separator: ", ")
    }
}
