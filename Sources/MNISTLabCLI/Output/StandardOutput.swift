#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The one way mnistlab writes to standard output. Every `print` in this module comes here
/// (the `print` below shadows the standard library's), and so do `export`'s and
/// `export-weights`' bytes and `--help`: each write goes straight to the file descriptor,
/// unbuffered, so a failure is seen at the write that failed, never later or not at all.
///
/// What a failed write does depends on what the command is for:
/// - `.stop` (every command but the training ones): a closed pipe (`| head`) ends the process
///   as it ends `cat`, killed by SIGPIPE without a word (status 141 in the shell); any other
///   failure (a full disk) is one line, `Cannot write to standard output: …`, and exit 1.
///   Either way nothing runs after the failed write, so nothing claims a success.
/// - `.carryOn` (`train`, `resume`, `sweep`, `worker`): the run is the work and the store its
///   record, so a lost line must not stop it. The first failure is remembered and later lines
///   are dropped; a closed pipe then ends as if read (docs/cli.md, "Signals and exit codes"), any
///   other failure with the one line and exit 1 once the command is done (`finish()`).
enum StandardOutput {
    enum Policy { case stop, carryOn }

    nonisolated(unsafe) static var policy = Policy.stop
    /// The errno of the first failed write under `.carryOn`.
    nonisolated(unsafe) private(set) static var failure: Int32?

    static func write(_ text: String) { write(Array(text.utf8)) }

    static func write(_ bytes: [UInt8]) {
        guard failure == nil else { return }
        if writeAll(STDOUT_FILENO, bytes) { return }
        let code = errno
        switch policy {
        case .carryOn:
            failure = code
        case .stop where code == EPIPE:
            diedOfClosedPipe()
        case .stop:
            MNISTLab.fail(writeError(code))
        }
    }

    /// Under `.carryOn`, once the command is done: throws the one line for a failed write
    /// other than a closed pipe.
    static func finish() throws {
        if let failure, failure != EPIPE { throw writeError(failure) }
    }

    private static func writeError(_ code: Int32) -> MNISTLabError {
        MNISTLabError("Cannot write to standard output: \(systemError(code)).")
    }

    /// Ends the process as SIGPIPE ends `cat`: SIGPIPE is ignored for the whole process (see
    /// `StopSignal.ignoreClosedOutput`), so it is restored to its default and raised.
    private static func diedOfClosedPipe() -> Never {
        Glibc.signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
        exit(128 + SIGPIPE)
    }
}

/// `Swift.print` through `StandardOutput`: the same signature, so every `print` in this
/// module writes through the one output path.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    StandardOutput.write(items.map { "\($0)" }.joined(separator: separator) + terminator)
}
