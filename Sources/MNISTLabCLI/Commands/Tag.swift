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

        @OptionGroup var items: RunsThenTags
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openExisting()
            defer { try? store.close() }
            let (ids, tags) = try items.resolve(in: store)
            try store.tagRuns(ids, with: tags)
            print("tagged \(RunsThenTags.runList(ids)) \(tags.joined(separator: " "))")
        }
    }
}

/// `RUN… TAG…`, the arguments of `tag` and `untag`: the leading runs (ids, or whole uids: a
/// shorter prefix could be a tag), then at least one tag.
struct RunsThenTags: ParsableArguments {
    @Argument(help: ArgumentHelp("Ids (or whole uids) of the runs, then the tags.", valueName: "run-then-tag"))
    var items: [String] = []

    func validate() throws { _ = try split() }

    /// The runs' ids in `store`, and the tags.
    func resolve(in store: Store) throws -> (runs: [Int64], tags: [String]) {
        let (runs, tags) = try split()
        return (try store.ids(runs), tags)
    }

    private func split() throws -> (runs: [RunReference], tags: [String]) {
        let runs = items.prefix(while: Self.namesARun).map { item in
            Int64(item).map(RunReference.id) ?? .uidPrefix(item.lowercased())
        }
        let tags = Array(items.dropFirst(runs.count))
        guard !runs.isEmpty else {
            throw ValidationError("Give the ids of the runs first, then the tags.")
        }
        guard !tags.isEmpty else {
            throw ValidationError(
                "Give at least one tag after the run ids (a tag is not a number).")
        }
        for tag in tags { try Check.require(.tag, Check.quoted(tag), Check.tag(tag)) }
        return (runs, tags)
    }

    private static func namesARun(_ item: String) -> Bool {
        Int64(item) != nil || (item.count == 36 && (try? RunReference.parse(item)) != nil)
    }

    /// "run 3" or "runs 3, 4".
    static func runList(_ runs: [Int64]) -> String {
        (runs.count == 1 ? "run " : "runs ") + runs.map(String.init).joined(separator: ", ")
    }
}
