import Foundation
import TestSupport
import Testing

/// libfaketime's wrapper, which runs a program with a shifted clock; .ci/run installs it.
let faketime = ["/usr/bin/faketime", "/usr/local/bin/faketime"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Every timestamp a shared store keeps is the server's: a client whose clock is two days
/// behind (libfaketime's `faketime`) writes runs, epochs, checkpoints, evaluations and sweeps
/// stamped with the server's time, so machines with skewed clocks never contradict each other.
@Suite(
    .blocksItsThread, .timeLimit(.minutes(10)),
    .enabled(if: postgresAvailable, "needs the test PostgreSQL server"),
    .enabled(
        if: faketime != nil || ProcessInfo.processInfo.environment["CI"] == "true",
        "needs libfaketime's `faketime` (Debian: faketime) to skew a client's clock"))
struct DatabaseClockTests {
    @Test func aSkewedClientWritesTheServersTime() throws {
        // Given a client two days behind the server
        let faketime = try #require(faketime, "faketime is not installed")
        let sandbox = try Sandbox(.postgres)
        func skewed(_ arguments: [String]) throws {
            let output = try sandbox.run(["-f", "-2d", mnistlabBinary] + arguments, executable: faketime)
            #expect(output.status == 0, "\(arguments): \(output.stderr)")
        }

        // When it trains, evaluates and creates a sweep
        try skewed(["train", "--epochs", "2", "--val-size", "200", "--batch-size", "50"])
        try skewed(["evaluate", "1"])
        try skewed(["sweep", "--learning-rate", "0.1,0.2", "--epochs", "1", "--val-size", "200", "--detach"])

        // Then every stamp is within the last hour of the server's clock
        for (table, column) in [
            ("runs", "created_at"), ("epochs", "recorded_at"), ("checkpoints", "created_at"),
            ("evaluations", "evaluated_at"), ("sweeps", "created_at"),
        ] {
            let stale = try sandbox.value(
                "SELECT count(*) FROM \(table) WHERE \(column)::timestamptz < now() - interval '1 hour'")
            let all = try sandbox.value("SELECT count(*) FROM \(table)")
            #expect(stale == "0" && all != "0", "\(table).\(column): \(stale ?? "?") of \(all ?? "?") stale")
        }
    }
}
