import ArgumentParser
import Store

extension MNISTLab {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete runs with their epochs, checkpoints, evaluations and tags.",
            discussion: """
                All in one transaction: every run named goes, or none. A run that another run \
                was forked from is refused with the list of its forks unless --with-forks, \
                which deletes every fork below it too; a live run (one being trained) is \
                refused. A run of a sweep gives its trial back to the sweep as pending, for \
                the sweep's next worker to train afresh. --sweep deletes a whole sweep: its \
                trials and every run of it, refused while a worker holds one of its trials. \
                --dry-run reports the very decision the removal would take. The file keeps \
                its size until `mnistlab db vacuum`.

                Examples:
                  mnistlab rm 7 --dry-run
                  mnistlab rm 7 8
                  mnistlab rm 3 --with-forks
                  mnistlab rm --sweep 2
                """)

        @Argument(
            help: ArgumentHelp("Runs, by id, uid or uid prefix.", valueName: "run"),
            transform: RunReference.parse)
        var runs: [RunReference] = []

        @Option(name: .customLong("sweep"), help: "Id of a sweep to delete with its trials and runs (repeatable).")
        var sweeps: [Int64] = []

        @Flag(name: .long, help: "Delete the runs forked from these too, and their forks.")
        var withForks = false

        @Flag(name: .long, help: "List what would be deleted, and its size, without deleting.")
        var dryRun = false

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if runs.isEmpty && sweeps.isEmpty {
                throw ValidationError("Give the ids of the runs to remove, or --sweep ID.")
            }
        }

        func run() throws {
            let removal: RunRemoval
            if dryRun {
                let store = try database.openForReading()
                removal = try store.removalPlan(try store.ids(runs), sweeps: sweeps, withForks: withForks)
            } else {
                let store = try database.openExisting()
                defer { try? store.close() }
                removal = try store.removeRuns(try store.ids(runs), sweeps: sweeps, withForks: withForks)
            }
            let verb = dryRun ? "would remove" : "removed"
            for item in removal.runs {
                let fork = item.parentRunID.map { ", a fork of run \($0)" } ?? ""
                print(
                    "\(verb) run \(item.runID) (\(item.name.controlCharactersEscaped)\(fork)): "
                        + "\(item.epochs) epochs, \(item.evaluations) evaluations, "
                        + "\(item.checkpoints) checkpoints, \(Format.bytes(item.checkpointBytes))")
            }
            for reset in removal.trialResets {
                print(
                    "\(dryRun ? "would return" : "returned") trial \(reset.number) of sweep "
                        + "\(reset.sweepID) to pending (its run \(reset.runID) goes)")
            }
            for sweep in removal.sweeps {
                print("\(verb) sweep \(sweep.sweepID) with its \(sweep.trials) trials")
            }
            let count = removal.runs.count
            print(
                "\(verb) \(count) run\(count == 1 ? "" : "s"), "
                    + "\(Format.bytes(removal.checkpointBytes)) of checkpoints"
                    + (dryRun ? "" : "; `mnistlab db vacuum` gives the space back to the disk"))
        }
    }
}
