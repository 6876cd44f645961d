/// Checks the CLI tests share: a success, a one-line refusal, and a few reads through
/// `mnistlab sql` that read the same on SQLite and PostgreSQL.
import Foundation
import TestSupport
import Testing

func expectSuccess(_ output: Output, _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(output.status == 0, "\(context) \(output.stderr)", sourceLocation: sourceLocation)
}

/// One line on standard error starting "Error: " + `prefix`, exit `status`, no stack trace.
func expectOneLineError(
    _ output: Output, status: Int32, startingWith prefix: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(output.status == status, "\(output.stderr)", sourceLocation: sourceLocation)
    #expect(output.stderr.hasPrefix("Error: " + prefix), "\(output.stderr)", sourceLocation: sourceLocation)
    #expect(output.stderr.split(separator: "\n").count == 1, "\(output.stderr)", sourceLocation: sourceLocation)
    for trace in ["Fatal error", "Backtrace", "Stack dump", "💣"] {
        #expect(!output.stderr.contains(trace), "\(output.stderr)", sourceLocation: sourceLocation)
    }
}

/// `mnistlab <arguments> --json`, parsed.
func json(_ sandbox: Sandbox, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
    let output = try sandbox.run(arguments + ["--json"])
    #expect(output.status == 0, "\(arguments): \(output.stderr)", sourceLocation: sourceLocation)
    return try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
}

func integer(_ sandbox: Sandbox, _ query: String) throws -> Int {
    let output = try sandbox.run(["sql", "--csv", query])
    return try #require(output.lines.last.flatMap { Int($0) }, "\(output.stdout) \(output.stderr)")
}

func checkpointEpochs(_ sandbox: Sandbox, runID: Int? = nil) throws -> [Int] {
    let filter = runID.map { " WHERE run_id = \($0)" } ?? ""
    return try sandbox.rows("SELECT epoch FROM checkpoints\(filter) ORDER BY epoch").compactMap { Int($0) }
}

extension Sandbox {
    /// The database as messages show it: the path, or the URL without its password
    /// (`postgres://mnistlab@127.0.0.1:PORT/test_…?sslmode=disable`).
    var shownDatabase: String {
        guard store == .postgres, let password = try? PostgresServer.shared.password else { return database }
        return database.replacingOccurrences(of: ":\(password)@", with: "@")
    }
}

/// A `train` on the small dataset that runs until it is killed, returned once it has printed
/// its first epoch (so its run exists and is live). `extra` arguments go last.
func trainUntilKilled(
    _ sandbox: Sandbox, _ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
) throws -> Background {
    let trainer = try Background(
        sandbox, ["train", "--epochs", "100000", "--val-size", "200", "--batch-size", "50"] + extra,
        label: "trainer")
    #expect(trainer.waitForLines("epoch "), "\(trainer.stderr)", sourceLocation: sourceLocation)
    return trainer
}

/// The column labels of a table's header line: labels hold single spaces, columns are two
/// or more apart.
func columnLabels(_ header: String) -> [String] {
    header.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
}
