import ArgumentParser
import Store

extension MNISTLab {
    struct Note: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a run's note: why it was started, or what it showed.",
            discussion: """
                The note replaces any earlier one ("" clears it); it is stored in runs.note \
                and shown by show, the report and run_summary.note. A live run may be noted.

                Examples:
                  mnistlab note 3 "baseline for the momentum sweep"
                  mnistlab note 3 ""
                """)

        @Argument(
            help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
        var reference: RunReference

        @Argument(help: "The note (\"\" clears it).")
        var text: String

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            try Check.require(.note, Check.quoted(text), Check.note(text))
        }

        func run() throws {
            let store = try database.openExisting()
            defer { try? store.close() }
            let runID = try reference.id(in: store)
            try store.setNote(runID: runID, text)
            print(text.isEmpty ? "cleared the note of run \(runID)" : "noted run \(runID)")
        }
    }
}
