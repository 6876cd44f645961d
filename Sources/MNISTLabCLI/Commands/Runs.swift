import ArgumentParser
import Store

extension MNISTLab {
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List runs, newest first, with their key settings and best epoch.",
            discussion: """
                Examples:
                  mnistlab runs
                  mnistlab runs --status completed --limit 5
                  mnistlab runs --tag baseline
                  mnistlab runs --json | jq '.[] | {id, best_epoch}'
                """)

        @Option(name: .long, help: "Only runs with this status: running, completed, interrupted, failed.")
        var status: Run.Status?

        @Option(name: .long, help: "Only runs with this tag.")
        var tag: String?

        @Option(name: .long, parsing: .unconditional, help: "Show at most N runs.")
        var limit: Int?

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1; got \(limit).") }
        }

        func run() throws {
            let store = try database.openForReading()
            let summaries = try store.summaries(status: status, tag: tag, limit: limit)
            if output.json { return try printJSON(summaries) }
            // The tags column only when a run shown has tags, so untagged databases read as before.
            let showsTags = summaries.contains { !$0.tags.isEmpty }
            var table = Table(
                ["id", "name", "status", "hidden", "activation", "lr", "batch", "momentum", "epochs", "best", "best val loss", "best val acc", "parent"]
                    + (showsTags ? ["tags"] : []),
                numeric: [0, 5, 6, 7, 8, 9, 10, 11])
            for s in summaries {
                let r = s.run
                table.append([
                    "\(r.id)", r.name,
                    r.status.rawValue + (s.stoppedEarlyAt.map { " (stopped early at \($0))" } ?? ""),
                    r.hidden, r.activation,
                    Format.number(r.learningRate), "\(r.batchSize)", Format.number(r.momentum),
                    "\(s.lastEpoch ?? 0)/\(r.epochs)", s.bestEpoch.map(String.init) ?? "-",
                    Format.loss(s.bestValLoss), Format.percent(s.bestValAccuracy),
                    r.parentRunID.map { "\($0)@\(r.parentEpoch ?? 0)" } ?? "",
                ] + (showsTags ? [s.tags.joined(separator: ",")] : []))
            }
            if summaries.isEmpty, let tag {
                return print("No run has the tag \(Check.quoted(tag)).")
            }
            print(summaries.isEmpty ? "No runs yet; `mnistlab train` starts one." : table.render())
        }
    }
}

extension Run.Status: ExpressibleByArgument {}
