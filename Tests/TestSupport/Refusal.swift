import MNISTLabCLI

/// How `mnistlab <arguments>` refuses its command line, found in this process by the CLI's
/// own parsing and validation (`MNISTLab.parse`, which `main` runs before anything else) with
/// no child process: the exit status and the message `main` prints after "Error: ", or nil
/// when the command line is accepted. For the many bad values of one option; a few of each
/// kind still run the binary, for the printing, the exit and the untouched store.
public func refusal(_ arguments: [String]) -> (status: Int32, message: String)? {
    do {
        _ = try MNISTLab.parse(arguments)
        return nil
    } catch {
        let outcome = MNISTLab.outcome(of: error)
        return (outcome.code.rawValue, outcome.message)
    }
}
