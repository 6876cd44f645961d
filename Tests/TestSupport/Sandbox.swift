import Datasets
import Foundation
import Synchronization

/// The `mnistlab` binary that `swift test` built next to the test bundle.
public let mnistlabBinary: String = {
    if let path = ProcessInfo.processInfo.environment["MNISTLAB_BIN"] { return path }
    let directory = Bundle.main.executableURL!.deletingLastPathComponent()
    return directory.appendingPathComponent("mnistlab").path
}()

/// A copy of `mnistlab` at `destination`, written by `cp` in a process of its own: a copy
/// written by this process could be run by none while tests running beside it fork, since
/// each child holds the copy's write descriptor until it execs and the kernel refuses to run
/// a file open for writing (ETXTBSY, "Text file busy").
public func copyMnistlab(to destination: String) throws {
    let copy = Process()
    copy.executableURL = URL(fileURLWithPath: "/bin/cp")
    copy.arguments = ["--", mnistlabBinary, destination]
    try copy.run()
    copy.waitForExit()
    guard copy.terminationStatus == 0 else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
    }
}

public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What a finished `mnistlab` process printed and how it exited.
public struct Output {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs `mnistlab` with `arguments` against a temporary database and small dataset.
public final class Sandbox {
    /// Where a sandbox's database lives.
    public enum Store: String, Sendable, CaseIterable, CustomStringConvertible {
        /// `runs.sqlite` in the sandbox's directory.
        case sqlite
        /// A new database of its own on TestSupport's PostgreSQL server.
        case postgres

        /// SQLite always; PostgreSQL when its test server runs (always under CI, where a
        /// server that can't start fails the tests rather than hiding them).
        public static var all: [Store] { PostgresServer.isAvailable ? allCases : [.sqlite] }

        public var description: String { rawValue }
    }

    public let directory: URL
    /// The database's path, or its postgres:// URL (given to mnistlab in MNISTLAB_DB).
    public let database: String
    public let store: Store

    /// `server`: the PostgreSQL server of a `.postgres` sandbox (default: the shared one).
    /// The longest one command may take before it is killed as stalled.
    public static let commandDeadline: Double = 600

    public init(_ store: Store = .sqlite, server: PostgresServer? = nil) throws {
        self.store = store
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnistlab-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch store {
        case .sqlite: database = directory.appendingPathComponent("runs.sqlite").path
        case .postgres: database = try (server ?? PostgresServer.shared).createDatabase()
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// `mnistlab <arguments>` with `--db` and `--data` pointing into the sandbox unless given;
    /// `executable` runs another program (e.g. `script`, for a terminal) in the same setting.
    ///
    /// On PostgreSQL a command that could not connect at all is run again, for up to 10 s:
    /// other tests restart the shared server (PostgresEngineTests), and a command refused at
    /// the door changed nothing. A sandbox's own URL always works once the server is up.
    @discardableResult
    public func run(
        _ arguments: [String], environment: [String: String] = [:],
        executable: String = mnistlabBinary
    ) throws -> Output {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let output = try runOnce(arguments, environment: environment, executable: executable)
            let refusedAtTheDoor = store == .postgres && environment["MNISTLAB_DB"] == nil
                && output.status == 1 && output.stderr.hasPrefix("Error: Cannot open database at ")
                && output.stderr.contains(": connection to server at ")
            guard refusedAtTheDoor, Date() < deadline else { return output }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    private func runOnce(
        _ arguments: [String], environment: [String: String], executable: String
    ) throws -> Output {
        let process = launch(arguments, environment: environment, executable: executable)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let (output, killed) = process.waitForExit(within: Self.commandDeadline, reading: [stdout, stderr])
        try? stdout.fileHandleForReading.close()
        try? stderr.fileHandleForReading.close()
        let note = killed
            ? "\n[Sandbox: `mnistlab \(arguments.joined(separator: " "))` still running after "
                + "\(Int(Self.commandDeadline)) s; killed]" : ""
        let (out, err) = (output[0], output[1])
        return Output(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self) + note)
    }

    public func launch(
        _ arguments: [String], environment: [String: String] = [:],
        executable: String = mnistlabBinary
    ) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["MNISTLAB_DB"] = database
        env["MNISTLAB_DATA"] = smallMNIST
        env.removeValue(forKey: "COLUMNS")
        process.environment = env.merging(environment) { $1 }
        process.currentDirectoryURL = directory
        return process
    }

    /// `mnistlab train` on the small dataset with quick settings, extra `arguments` last.
    @discardableResult
    public func train(_ arguments: [String] = []) throws -> Output {
        try run(["train", "--epochs", "2", "--val-size", "200", "--batch-size", "50"] + arguments)
    }
}

/// The first 1,200 training and 100 test images of the bundled MNIST as raw IDX files, made
/// once per test process: real digits, small enough that each CLI call loads them instantly.
public let smallMNIST: String = mnistExcerpt("small", train: [0..<1_200], test: 100)

/// The bundled MNIST's training images (with their labels) in the `train` ranges, in that
/// order, and its first `test` test images, as raw IDX files in a directory of their own
/// (named after `name` and this process); each call writes it anew, so make one per process.
public func mnistExcerpt(_ name: String, train: [Range<Int>], test: Int) -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("mnistlab-\(name)-\(ProcessInfo.processInfo.processIdentifier)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let source = repositoryRoot.appendingPathComponent("Data/mnist").path
    for (prefix, rows) in [("train", train), ("t10k", [0..<test])] {
        for kind in ["images", "labels"] {
            let name = MNIST.fileName(prefix, kind)
            let array = try! IDXArray.read(path: "\(source)/\(name).gz", rank: kind == "images" ? 3 : 1)
            let itemSize = array.dimensions.dropFirst().reduce(1, *)
            var header: [UInt8] = [0, 0, 8, UInt8(array.dimensions.count)]
            for d in [rows.reduce(0) { $0 + $1.count }] + array.dimensions.dropFirst() {
                header += [24, 16, 8, 0].map { UInt8((d >> $0) & 0xff) }
            }
            let body = rows.flatMap { array.bytes[($0.lowerBound * itemSize)..<($0.upperBound * itemSize)] }
            try! Data(header + body).write(to: directory.appendingPathComponent(name))
        }
    }
    return directory.path
}

/// A file's bytes, to prove that a refused command changed nothing.
public func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
