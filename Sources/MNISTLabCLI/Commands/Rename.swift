import ArgumentParser
import Store

extension MNISTLab {
    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename a run.",
            discussion: """
                Names need not be unique, and have no control characters. A live run may be \
                renamed; only its row's name changes.

                Examples:
                  mnistlab rename 3 baseline
                """)

        @Argument(
            help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
        var reference: RunReference

        @Argument(help: "Its new name.")
        var name: String

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            try Check.require(.name, Check.quoted(name), Check.runName(name))
        }

        func run() throws {
            let store = try database.openExisting()
            defer { try? store.close() }
            let runID = try reference.id(in: store)
            try store.renameRun(id: runID, to: name)
            print("renamed run \(runID) to \(name)")
        }
    }
}
