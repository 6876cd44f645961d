/// What the reliability tests share: the stress switch, a seeded RNG, `mnistlab` processes
/// running in the background (to kill or signal them), SQL helpers, the uninterrupted
/// reference run every crashed run must match, and the checks made after every crash.
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// `MNISTLAB_STRESS=1` runs the long variants (counts in RELIABILITY.md).
let stress = ProcessInfo.processInfo.environment["MNISTLAB_STRESS"] == "1"

/// SplitMix64, so that every random schedule can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - The plan every crashed, signalled or concurrent run follows

/// The settings of every run that must end identical to the reference.
enum Plan {
    static let epochs = stress ? 30 : 12
    static let settings = [
        "--val-size", "200", "--batch-size", "50", "--keep-every", "5", "--seed", "11",
    ]
    static var train: [String] { ["train", "--epochs", "\(epochs)"] + settings }
}

/// The uninterrupted run: its last weights and per-epoch metrics, and how long it took.
struct Reference: Sendable {
    let weights: String
    let metrics: [String]
    /// Wall time of the whole `train` process, only to spread kill delays over a run.
    let seconds: Double
    var secondsPerEpoch: Double { seconds / Double(Plan.epochs) }
}

/// Trained once per test process, the first time a test needs it.
let reference: Reference = {
    let sandbox = try! Sandbox()
    let started = Date()
    let output = try! sandbox.run(Plan.train)
    precondition(output.status == 0, "reference run failed: \(output.stderr)")
    let seconds = Date().timeIntervalSince(started)
    return Reference(
        weights: try! sandbox.finalWeights(runID: 1), metrics: try! sandbox.metrics(runID: 1),
        seconds: seconds)
}()

// MARK: - SQL

extension Sandbox {
    func finalWeights(runID: Int64) throws -> String {
        try value(
            "SELECT hex(weights) FROM checkpoints WHERE run_id = \(runID) AND epoch = \(Plan.epochs)"
        ) ?? "no checkpoint at epoch \(Plan.epochs)"
    }

    /// Each epoch's metrics (without wall time), in epoch order.
    func metrics(runID: Int64) throws -> [String] {
        try rows(
            """
            SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy FROM epochs
            WHERE run_id = \(runID) ORDER BY epoch
            """)
    }

    /// Whether the database file exists and holds a committed mnistlab schema.
    func holdsDatabase() throws -> Bool {
        guard FileManager.default.fileExists(atPath: database) else { return false }
        let probe = try run(["db", "status"])
        return !probe.stderr.contains("there is no mnistlab database there yet")
    }

    func newestRunID() throws -> Int64? {
        guard try holdsDatabase() else { return nil }
        return try value("SELECT max(id) FROM runs").flatMap { Int64($0) }
    }

    /// Stops `process` with SIGSTOP at an instant when it holds no transaction open: frozen
    /// inside one it would keep every other writer waiting, whatever its lease. On SQLite
    /// that is when `sqlite3` can take the write lock, on PostgreSQL when no other session of
    /// the database is in a transaction.
    func freezeOutsideATransaction(_ process: Background) throws {
        for _ in 0..<100 {
            process.send(SIGSTOP)
            // kill() returns before the process has stopped: a thread inside a system call
            // (the one that takes SQLite's write lock, say) finishes it first. Only a look
            // taken once every thread has stopped tells what the stopped process holds.
            guard process.waitUntilStopped() else {
                Issue.record("the process did not stop on SIGSTOP")
                return
            }
            guard let free = try holdsNoTransaction() else {
                Issue.record("sqlite3 is needed to see that the frozen process holds no lock")
                return
            }
            if free { return }
            process.send(SIGCONT)
            usleep(2_000)
        }
        Issue.record("could not freeze the process outside a transaction")
    }

    /// Whether no other process has a transaction open on the database; nil when that
    /// cannot be seen (no `sqlite3`).
    func holdsNoTransaction() throws -> Bool? {
        switch store {
        case .sqlite:
            return try sqlite3(database, "BEGIN IMMEDIATE; ROLLBACK;").map { $0.status == 0 }
        case .postgres:
            let name = try #require(URL(string: database)?.lastPathComponent)
            let open = try PostgresServer.shared.psql(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND xact_start IS NOT NULL
                """, database: name)
            return open.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
        }
    }
}

extension Background {
    /// Waits (10 s at the most) until every thread of the process is stopped; false if one is
    /// still not.
    func waitUntilStopped() -> Bool {
        wait(until: { (try? ProcessSnapshot(pid))?.isStopped == true }, seconds: 10)
    }
}

/// `sqlite3`, the tool users query with; nil when it is not installed.
let sqlite3Tool = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// `sqlite3 <database> <sql>`; nil when `sqlite3` is not installed.
func sqlite3(_ database: String, _ sql: String) throws -> (status: Int32, output: String)? {
    guard let tool = sqlite3Tool else { return nil }
    return try shell(tool, [database, sql])
}

/// Runs `tool arguments`, returning its exit status and standard output plus error.
@discardableResult
func shell(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = process.waitForExit(reading: [pipe]).output[0]
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Changes of the database's write-ahead log: each one is a transaction writing (a checkpoint
/// blob is ~80 pages, so a poll often lands while a commit is being written).
struct WALWatcher {
    let path: String
    private var last: timespec?

    init(database: String) {
        path = database + "-wal"
        last = WALWatcher.modified(path)
    }

    /// True once the log has been written to since the last call that returned true.
    mutating func changed() -> Bool {
        let now = WALWatcher.modified(path)
        guard let now else { return false }
        defer { last = now }
        guard let last else { return true }
        return now.tv_sec != last.tv_sec || now.tv_nsec != last.tv_nsec
    }

    private static func modified(_ path: String) -> timespec? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mtim
    }
}

// MARK: - What must hold after any crash

/// The checks made after a run's process died at an arbitrary instant: the file passes
/// `PRAGMA integrity_check` (with `sqlite3` when installed, before mnistlab opens it, else
/// through `mnistlab sql`), every committed epoch is whole and numbered without gaps, every
/// checkpoint has its epoch row and matching size, the last epoch has a checkpoint, and a
/// run left `running` by a dead process shows `interrupted` in `runs` and `show`.
func expectConsistentAfterCrash(
    _ sandbox: Sandbox, runID: Int64?, firstEpoch: Int = 1, context: String
) throws {
    let comment = Comment(rawValue: context)
    // Killed before it even created the database (no file, or a file that its first
    // migration had not committed to yet, which readers rightly call no database): nothing to
    // check.
    guard try sandbox.holdsDatabase() else { return }
    if let checked = try sqlite3(sandbox.database, "PRAGMA integrity_check") {
        #expect(checked.status == 0 && checked.output == "ok\n", comment)
    }
    #expect(try sandbox.value("PRAGMA integrity_check") == "ok", comment)
    #expect(try sandbox.value("PRAGMA foreign_key_check") == nil, comment)

    let listed = try sandbox.run(["runs"])
    #expect(listed.status == 0, "\(context): \(listed.stderr)")
    guard let runID else { return }
    let status = try sandbox.status(runID: runID)
    #expect(status == "interrupted" || status == "completed", "\(context): status \(status ?? "nil")")
    if status == "interrupted" {
        let shown = try sandbox.run(["show", "\(runID)"])
        #expect(shown.status == 0 && shown.stdout.contains("interrupted"), comment)
    }

    let facts = try sandbox.value(
        """
        SELECT
          (SELECT count(*) FROM epochs WHERE run_id = \(runID)) AS c0,
          (SELECT coalesce(min(epoch), \(firstEpoch)) FROM epochs WHERE run_id = \(runID)) AS c1,
          (SELECT coalesce(max(epoch), \(firstEpoch - 1)) FROM epochs WHERE run_id = \(runID)) AS c2,
          (SELECT count(*) FROM epochs WHERE run_id = \(runID) AND NOT (
              train_loss >= 0 AND val_loss >= 0 AND train_accuracy BETWEEN 0 AND 1
              AND val_accuracy BETWEEN 0 AND 1 AND recorded_at IS NOT NULL)) AS c3,
          (SELECT count(*) FROM checkpoints c WHERE run_id = \(runID) AND NOT EXISTS (
              SELECT 1 FROM epochs e WHERE e.run_id = c.run_id AND e.epoch = c.epoch)) AS c4,
          (SELECT count(*) FROM checkpoints WHERE run_id = \(runID)
              AND length(weights) <> 4 * parameter_count) AS c5,
          (SELECT count(*) FROM checkpoints WHERE run_id = \(runID)
              AND epoch = (SELECT max(epoch) FROM epochs WHERE run_id = \(runID))) AS c6
        """)?.split(separator: ",").compactMap { Int($0) }
    guard let facts, facts.count == 7 else {
        Issue.record("\(context): no facts")
        return
    }
    let (count, first, last) = (facts[0], facts[1], facts[2])
    #expect(first == firstEpoch && count == last - first + 1, "\(context): epochs \(facts)")
    #expect(facts[3] == 0, "\(context): incomplete metrics rows")
    #expect(facts[4] == 0, "\(context): checkpoint without its epoch row")
    #expect(facts[5] == 0, "\(context): checkpoint of the wrong size")
    #expect(count == 0 || facts[6] == 1, "\(context): last epoch \(last) has no checkpoint")
}

/// Runs a command that closes the database cleanly, so that the main file holds every commit
/// and a refused command can be shown to leave it byte-identical. (A run's process may exit
/// before its background writer releases the connection, leaving the commits in the -wal.)
func settle(_ sandbox: Sandbox, database: String? = nil) throws {
    // `db status` only reads; `db migrate` opens read-write and its close folds the WAL back.
    let output = try sandbox.run(["db", "migrate"] + (database.map { ["--db", $0] } ?? []))
    #expect(output.status == 0, "\(output.stderr)")
}

/// A refusal: non-zero exit, one line on standard error starting "Error: ", no stack trace.
func expectCleanRefusal(_ output: Output, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(
        output.status == 1 || output.status == 64, "\(context): status \(output.status)",
        sourceLocation: sourceLocation)
    #expect(output.stderr.hasPrefix("Error: "), "\(context): \(output.stderr)", sourceLocation: sourceLocation)
    #expect(
        output.stderr.split(separator: "\n").count == 1, "\(context): \(output.stderr)",
        sourceLocation: sourceLocation)
    for trace in ["Fatal error", "Backtrace", "Stack dump", "💣"] {
        #expect(!output.stderr.contains(trace), "\(context): \(output.stderr)", sourceLocation: sourceLocation)
    }
}
