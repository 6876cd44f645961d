/// A failure the user can act on, printed as one line ("Error: …") with a non-zero exit: 64
/// when the input given was wrong (`badInput`), else 1.
struct MNISTLabError: Error, CustomStringConvertible {
    let description: String
    var isBadInput = false

    init(_ description: String) { self.description = description }

    /// A value given on the command line or in the environment that is wrong (exit 64).
    static func badInput(_ description: String) -> MNISTLabError {
        var error = MNISTLabError(description)
        error.isBadInput = true
        return error
    }
}

extension MNISTLabError {
    /// `error` with what stands all the same: the sweep that was created before the output
    /// that should have named it (a detached sweep's line, a Slurm script) failed, so that a
    /// script seeing the failure does not make another.
    static func sweepCreatedAllTheSame(_ sweep: Int64, after error: MNISTLabError) -> MNISTLabError {
        MNISTLabError(
            "\(error.description) Sweep \(sweep) was created all the same; `mnistlab worker --sweep \(sweep)` trains it.")
    }
}
