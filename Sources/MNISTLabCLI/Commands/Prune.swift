import ArgumentParser
import Store

extension MNISTLab {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete checkpoints beyond those a run keeps.",
            discussion: """
                --keep lists what each run keeps: best (its best epoch, by validation loss) \
                and last (its latest checkpoint, which resume needs) are required; every:N \
                keeps every N-th epoch; forks (every epoch a fork started from) is always \
                kept, and may be written to say so. Epochs and their metrics stay; only \
                checkpoints go, in one transaction. Without run ids, every run is pruned, \
                live ones included (their training needs none of the dropped checkpoints). \
                The file keeps its size until `mnistlab db vacuum`.

                Examples:
                  mnistlab prune 3 --keep best,last --dry-run
                  mnistlab prune --keep best,last,every:100,forks
                """)

        @Argument(
            help: ArgumentHelp("Runs, by id, uid or uid prefix (default: every run).", valueName: "run"),
            transform: RunReference.parse)
        var runs: [RunReference] = []

        @Option(
            name: .customLong("keep"),
            help: ArgumentHelp(
                "What each run keeps: best,last[,every:N][,forks].", valueName: "list"))
        var keepText: String

        var keep: KeepList { (try? KeepList(keepText)) ?? KeepList() }

        @Flag(name: .long, help: "List what would be deleted, and its size, without deleting.")
        var dryRun = false

        @OptionGroup var database: DatabaseOptions

        func validate() throws { _ = try KeepList(keepText) }

        func run() throws {
            let pruning: CheckpointPruning
            if dryRun {
                let store = try database.openForReading()
                pruning = try store.pruningPlan(
                    runs.isEmpty ? nil : try store.ids(runs), keepEvery: keep.every)
            } else {
                let store = try database.openExisting()
                defer { try? store.close() }
                pruning = try store.pruneCheckpoints(
                    runs.isEmpty ? nil : try store.ids(runs), keepEvery: keep.every)
            }
            let verb = dryRun ? "would drop" : "dropped"
            for item in pruning.runs {
                print(
                    "run \(item.runID) (\(item.name.controlCharactersEscaped)): \(verb) "
                        + "\(item.dropped.count) checkpoint\(item.dropped.count == 1 ? "" : "s"), "
                        + "\(Format.bytes(item.droppedBytes)); keeps \(keptText(item))")
            }
            let count = pruning.droppedCount
            print(
                "\(verb) \(count) checkpoint\(count == 1 ? "" : "s"), "
                    + Format.bytes(pruning.droppedBytes)
                    + (dryRun || count == 0
                        ? "" : "; `mnistlab db vacuum` gives the space back to the disk"))
        }

        /// "402 (best), 3000 (last)", each kept epoch with why it is kept.
        private func keptText(_ item: CheckpointPruning.Item) -> String {
            if item.kept.isEmpty { return "none (no checkpoints)" }
            return item.kept.map { epoch in
                var why: [String] = []
                if epoch == item.bestEpoch { why.append("best") }
                if epoch == item.lastEpoch { why.append("last") }
                if let every = keep.every, epoch % every == 0 { why.append("every:\(every)") }
                if item.forkEpochs.contains(epoch) { why.append("fork") }
                return "\(epoch) (\(why.joined(separator: ", ")))"
            }.joined(separator: ", ")
        }
    }
}

/// `--keep best,last[,every:N][,forks]`.
struct KeepList {
    /// N of every:N, if given.
    var every: Int?

    init() {}

    init(_ text: String) throws {
        var items = Set<String>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if item.hasPrefix("every:") {
                guard let n = Int(item.dropFirst(6)), n >= 1 else {
                    throw ValidationError(
                        "every:N in --keep needs a whole number N of at least 1; got '\(item)'.")
                }
                every = n
            } else if ["best", "last", "forks"].contains(item) {
                items.insert(String(item))
            } else {
                throw ValidationError(
                    "--keep takes best, last, every:N and forks, separated by commas; got "
                        + "\(Check.quoted(String(item))).")
            }
        }
        guard items.contains("best"), items.contains("last") else {
            throw ValidationError(
                "--keep must include best and last (the checkpoint evaluate and export-weights "
                    + "use, and the one resume needs); got \(Check.quoted(text)).")
        }
    }
}
