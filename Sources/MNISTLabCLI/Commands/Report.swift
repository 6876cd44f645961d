import ArgumentParser
import Foundation
import Reports
import Store
import Training

extension MNISTLab {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write an HTML report of runs: learning curves, settings, confusion matrices.",
            discussion: """
                One self-contained file (inline SVG and CSS, no scripts or downloads) that \
                opens offline in any browser. Per run: train and validation loss and accuracy \
                per epoch with the best epoch marked, a fork drawn as the continuation of its \
                parent's curves, its settings, and the confusion matrix of each `mnistlab \
                evaluate`. With several runs, a chart compares their validation loss. With \
                --sweep, the sweep's figures too: its trials in parallel coordinates, each \
                setting's importance and scatter, the rungs of an --asha sweep and the seeds.

                Examples:
                  mnistlab report 1 -o report.html
                  mnistlab report 1 2 3
                  mnistlab report --sweep 1 -o sweep.html
                """)

        @Argument(
            help: ArgumentHelp("Runs, by id, uid or uid prefix (default: every run, or the sweep's with --sweep).", valueName: "run"),
            transform: RunReference.parse)
        var runs: [RunReference] = []

        @Option(name: .long, parsing: .unconditional, help: "Report the runs of this sweep, best first.")
        var sweep: Int64?

        @Option(
            name: .shortAndLong,
            help: """
                File to write ('-' for standard output; default: named after what it reports, \
                report-2-3.html for runs 2 and 3, report-sweep-1.html, report.html for every run).
                """)
        var output: String?

        /// The file written: `-o`, else a name made from the runs or the sweep, so that
        /// reports of different runs never replace one another unasked.
        func destination(_ ids: [Int64]) -> String {
            if let output { return output }
            if let sweep { return "report-sweep-\(sweep).html" }
            if ids.isEmpty { return "report.html" }
            return "report-" + ids.map(String.init).joined(separator: "-") + ".html"
        }

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            try Check.notEmpty(output, "-o")
            if sweep != nil && !runs.isEmpty {
                throw ValidationError("Give run ids or --sweep, not both.")
            }
        }

        func run() throws {
            let store = try database.openForReading()
            let ids = try store.ids(runs)
            let summaries: [RunSummary]
            var figures: SweepFigures?
            if let sweep {
                figures = try SweepFigures.load(sweepID: sweep, from: store)
                guard figures != nil else {
                    throw MNISTLabError("No sweep with id \(sweep) in this database.")
                }
                summaries = try store.summaries(sweepID: sweep)
            } else if runs.isEmpty {
                summaries = try store.summaries().reversed()
            } else {
                summaries = try ids.map { id in
                    guard let s = try store.summary(runID: id) else {
                        throw TrainingError.unknownRun(id)
                    }
                    return s
                }
            }
            guard !summaries.isEmpty else {
                throw MNISTLabError("No runs to report; `mnistlab train` starts one.")
            }
            let reported = try summaries.map { try history($0, store) }
            // The runs they were forked from, so forks are drawn over their parents' curves.
            var lineage: [ReportRun] = []
            var seen = Set(reported.map(\.summary.run.id))
            for r in reported {
                var next = r.summary.run.parentRunID
                while let id = next, seen.insert(id).inserted,
                    let parent = try store.summary(runID: id)
                {
                    lineage.append(try history(parent, store))
                    next = parent.run.parentRunID
                }
            }
            let html = Reports.Report(
                runs: reported, lineage: lineage, source: store.location,
                generatedAt: ISO8601DateFormatter().string(from: Date()), sweep: figures
            ).html()
            let file = destination(ids)
            let replaced = file != "-" && FileManager.default.fileExists(atPath: file)
            try write(html, to: file)
            if file != "-" {
                print(
                    "\(replaced ? "Replaced" : "Wrote") \(file): \(reported.count) run\(reported.count == 1 ? "" : "s")\(lineage.isEmpty ? "" : " and \(lineage.count) parent run\(lineage.count == 1 ? "" : "s")")."
                )
            }
        }

        private func history(_ summary: RunSummary, _ store: Store) throws -> ReportRun {
            ReportRun(
                summary: summary, epochs: try store.epochs(runID: summary.run.id),
                evaluations: try store.evaluations(runID: summary.run.id))
        }
    }
}
