import ArgumentParser
import Store

extension MNISTLab {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy every run of another store into this one.",
            discussion: """
                SOURCE is an SQLite file or a postgres:// URL; it is only read. Each run comes \
                with its epochs, checkpoints (the same bytes), evaluations, confusion cells, \
                tags and note, and the sweeps of its runs with their trials. Runs get new ids \
                here; forks keep their parents. Every run carries a unique id (runs.uid), so \
                importing the same source again adds nothing. A run still training in the \
                source is left for a later import.

                Examples:
                  mnistlab import laptop.sqlite --db postgres://lab@db.example/mnistlab
                  mnistlab import node1.sqlite && mnistlab import node2.sqlite
                  mnistlab import "$MNISTLAB_DB" --db backup.sqlite
                """)

        @Argument(help: ArgumentHelp("The store to copy from.", valueName: "source"))
        var source: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard !source.isEmpty else {
                throw ValidationError("The source is empty; give a file path or a postgres:// URL.")
            }
        }

        /// The store to copy from, read-only. What is wrong with SOURCE is worded for SOURCE:
        /// the advice for --db (train a run first, pass --db) would send the user astray.
        private func openSource() throws -> Store {
            let expected = "SOURCE must be an mnistlab SQLite file or a postgres:// URL."
            guard DatabaseOptions.mayExist(source) else {
                throw MNISTLabError("No database at \(source) to import from; \(expected)")
            }
            do {
                return try Store.open(location: source, readOnly: true)
            } catch let error as StoreError {
                switch error.kind {
                case .missing, .notOurDatabase: throw MNISTLabError("\(error) \(expected)")
                default: throw error
                }
            }
        }

        func run() throws {
            let from = try openSource()
            defer { try? from.close() }
            let store = try database.openForWriting()
            defer { try? store.close() }
            let summary = try store.importRuns(from: from)
            if output.json {
                try printJSON(ImportReport(summary))
                if !summary.diverged.isEmpty { throw ExitCode(1) }
                return
            }
            let runs = summary.runs.count
            var line: String
            if runs == 0 && summary.sweeps.isEmpty && summary.updated.isEmpty {
                line = "nothing new to import from \(from.location)"
            } else {
                let updated = summary.updated.isEmpty ? "" : ", updated \(Format.count(summary.updated.count, "run"))"
                line =
                    "imported \(Format.count(runs, "run"))\(updated) (\(Format.count(summary.epochs, "epoch")), "
                    + "\(Format.count(summary.checkpoints, "checkpoint")), "
                    + "\(Format.count(summary.evaluations, "evaluation")))"
                if !summary.sweeps.isEmpty { line += " and \(Format.count(summary.sweeps.count, "sweep"))" }
                line += " from \(from.location)"
            }
            if summary.alreadyPresent > 0 {
                line += "; \(Format.count(summary.alreadyPresent, "run")) already here"
            }
            print(line)
            if !summary.runs.isEmpty {
                let pairs = summary.runs.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }
                print("new ids: " + pairs.joined(separator: ", "))
            }
            if !summary.updated.isEmpty {
                let pairs = summary.updated.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }
                print("updated: " + pairs.joined(separator: ", "))
            }
            if !summary.skippedLive.isEmpty {
                let list = summary.skippedLive.map(String.init).joined(separator: ", ")
                print("left for a later import, still training: \(summary.skippedLive.count == 1 ? "run" : "runs") \(list)")
            }
            for divergence in summary.diverged {
                printStandardError(
                    "Run \(divergence.sourceID) of \(from.location) (run \(divergence.id) here) moved on in both stores, so it was not updated: \(divergence.reason).")
            }
            if !summary.diverged.isEmpty { throw ExitCode(1) }
        }
    }
}

/// `import --json`: what was copied, with the new ids by source id.
struct ImportReport: Encodable {
    var runs: [String: Int64]
    var sweeps: [String: Int64]
    var epochs: Int
    var checkpoints: Int
    var evaluations: Int
    var alreadyPresent: Int
    var skippedLive: [Int64]
    var updated: [String: Int64]
    var diverged: [DivergenceJSON]

    struct DivergenceJSON: Encodable {
        var source_id: Int64
        var id: Int64
        var reason: String
    }

    init(_ summary: ImportSummary) {
        runs = Dictionary(uniqueKeysWithValues: summary.runs.map { ("\($0.key)", $0.value) })
        sweeps = Dictionary(uniqueKeysWithValues: summary.sweeps.map { ("\($0.key)", $0.value) })
        epochs = summary.epochs
        checkpoints = summary.checkpoints
        evaluations = summary.evaluations
        alreadyPresent = summary.alreadyPresent
        skippedLive = summary.skippedLive
        updated = Dictionary(uniqueKeysWithValues: summary.updated.map { ("\($0.key)", $0.value) })
        diverged = summary.diverged.map {
            DivergenceJSON(source_id: $0.sourceID, id: $0.id, reason: $0.reason)
        }
    }

    enum CodingKeys: String, CodingKey {
        case runs, sweeps, epochs, checkpoints, evaluations
        case alreadyPresent = "already_present"
        case skippedLive = "skipped_live"
        case updated, diverged
    }
}
