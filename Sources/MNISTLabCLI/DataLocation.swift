import Datasets
import Foundation

/// Where the MNIST files are, so that the binary works from any directory. In this order:
/// `--data`, `$MNISTLAB_DATA`, `./Data/mnist`, then `Data/mnist` in each folder above the
/// binary's real path (a clone's `.build/release/mnistlab` finds the clone's `Data/mnist`).
/// A directory given with `--data` or `MNISTLAB_DATA` is the only one tried.
///
/// `train` resolves it before it opens the database, so a run that cannot find its data
/// leaves no database file behind.
enum DataLocation {
    static let bundled = "Data/mnist"

    /// The absolute path of the directory to load, or an error that says where it looked.
    static func resolve(
        _ option: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        if let option { return try require(option, named: "--data") }
        if let variable = environment["MNISTLAB_DATA"] {
            guard !variable.isEmpty else {
                throw MNISTLabError.badInput(
                    "MNISTLAB_DATA is set but empty; unset it or set it to the directory of the MNIST files.")
            }
            return try require(variable, named: "MNISTLAB_DATA")
        }
        if let found = repositoryPath(bundled, where: { missingFile(in: $0) == nil }) {
            return found
        }
        throw MNISTLabError(
            "Cannot find the MNIST files: looked in ./\(bundled) (\(absolute(bundled))) and in \(bundled) in every folder above \(realExecutable.path); pass --data DIR or set MNISTLAB_DATA to a directory with the four MNIST IDX files.")
    }

    /// `relative` (a path inside the repository, such as `Data/mnist` or
    /// `Benchmarks/numpy_epoch.py`) from the current directory, else from each folder above
    /// the binary's real path: the first for which `found` holds, as an absolute path.
    static func repositoryPath(_ relative: String, where found: (String) -> Bool) -> String? {
        let here = absolute(relative)
        if found(here) { return here }
        var folder = realExecutable.deletingLastPathComponent()
        while true {
            let candidate = folder.appendingPathComponent(relative).path
            if found(candidate) { return candidate }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { return nil }
            folder = parent
        }
    }

    private static var realExecutable: URL {
        URL(fileURLWithPath: executablePath()).resolvingSymlinksInPath()
    }

    /// The first of the four IDX files that `directory` lacks (as `name.gz`), or nil.
    static func missingFile(in directory: String) -> String? {
        for prefix in ["train", "t10k"] {
            for kind in ["images", "labels"] {
                let name = MNIST.fileName(prefix, kind)
                let base = (directory as NSString).appendingPathComponent(name)
                let present = [base + ".gz", base].contains {
                    FileManager.default.fileExists(atPath: $0)
                }
                if !present { return name }
            }
        }
        return nil
    }

    private static func require(_ directory: String, named source: String) throws -> String {
        if let name = missingFile(in: directory) {
            throw MNISTLabError(
                "Cannot find \(name).gz (or \(name)) in \(directory); \(source) must name a directory holding the four MNIST IDX files.")
        }
        return absolute(directory)
    }

    /// `path` from the current directory, so that the run records where its data really is
    /// and `evaluate` or `resume` find it from any directory.
    private static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

/// This binary's path (the real one on Linux), so that sweep children run the same build
/// and the bundled data is found beside it.
func executablePath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]
}
