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
                  mnistlab runs --where "learning_rate > 0.05 AND best_val_accuracy > 0.97" --sort best_val_loss
                  mnistlab runs --sweep 2 --sort best_val_accuracy,desc --limit 5

                --where takes a SQL expression over run_summary's columns and runs as `mnistlab \
                sql "SELECT * FROM run_summary WHERE (EXPR) ORDER BY id DESC"` would: read-only, \
                one statement, the same rows. --sort orders by one of those columns (runs \
                without a value last), then the newest first.
                """)

        @Option(name: .long, help: "Only runs with this status: running, completed, interrupted, failed.")
        var status: Run.Status?

        @Option(name: .long, help: "Only runs with this tag.")
        var tag: String?

        @Option(name: .long, parsing: .unconditional, help: "Show at most N runs.")
        var limit: Int?

        @Option(
            name: .customLong("where"), parsing: .unconditional,
            help: ArgumentHelp("Only runs for which this SQL expression over run_summary's columns holds.", valueName: "expr"))
        var expression: String?

        @Option(
            name: .long,
            help: ArgumentHelp("Order by this run_summary column, ascending, or descending with ,desc.", valueName: "column[,desc]"),
            transform: { text in
                guard let sort = RunSearch.Sort(text) else {
                    throw ValidationError("--sort takes a column of run_summary, optionally followed by ,asc or ,desc; got \(Check.quoted(text)).")
                }
                return sort
            })
        var sort: RunSearch.Sort?

        @Option(name: .long, parsing: .unconditional, help: "Only the runs of this sweep.")
        var sweep: Int64?

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1; got \(limit).") }
            if let expression, expression.allSatisfy(\.isWhitespace) {
                throw ValidationError("--where cannot be empty; give a SQL expression over run_summary's columns, e.g. \"learning_rate > 0.05\".")
            }
        }

        func run() throws {
            let store = try database.openForReading()
            let summaries =
                expression == nil && sort == nil && sweep == nil
                ? try store.summaries(status: status, tag: tag, limit: limit)
                : try store.summaries(
                    RunSearch(
                        expression: expression, sort: sort, status: status, tag: tag,
                        sweepID: sweep, limit: limit))
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
            if summaries.isEmpty, expression != nil || sweep != nil {
                return print("No run matches.")
            }
            if summaries.isEmpty, let tag {
                return print("No run has the tag \(Check.quoted(tag)).")
            }
            print(summaries.isEmpty ? "No runs yet; `mnistlab train` starts one." : table.render())
        }
    }
}

extension Run.Status: ExpressibleByArgument {}
