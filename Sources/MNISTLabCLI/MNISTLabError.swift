/// A failure the user can act on, printed as one line ("Error: …") with a non-zero exit.
struct MNISTLabError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    static func unknownRun(_ id: Int64) -> MNISTLabError {
        MNISTLabError("No run with id \(id) in this database; `mnistlab runs` lists the runs.")
    }
}
