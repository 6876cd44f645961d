import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Several trainers and a reader on one database file at once: every process succeeds, none
/// reports "database is locked" or "busy", and every run is recorded whole.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct ConcurrencyTests {
    static let queries: [[String]] = [
        ["sql", "SELECT count(*) FROM epochs"], ["runs"],
        ["sql", "SELECT id, status, epochs_done FROM run_summary"], ["db", "status"],
        ["sql", "PRAGMA integrity_check"],
    ]

    /// Loops the reader's queries until every process has exited; returns the failures.
    func readWhileRunning(_ sandbox: Sandbox, _ processes: [Background], reads: inout Int) throws -> [String] {
        var failures: [String] = []
        while processes.contains(where: \.isRunning) {
            guard FileManager.default.fileExists(atPath: sandbox.database) else {
                usleep(10_000)
                continue
            }
            let query = Self.queries[reads % Self.queries.count]
            let output = try sandbox.run(query)
            reads += 1
            // A reader never creates or migrates: until the first trainer's migration commits
            // (all of it at once), the file holds no database yet, and saying so is right.
            if output.stderr.contains("there is no mnistlab database there yet") { continue }
            if output.status != 0 || !output.stderr.isEmpty {
                failures.append("\(query): \(output.status) \(output.stderr)")
            }
        }
        return failures
    }

    func expectClean(_ processes: [Background], _ context: String) {
        for (index, process) in processes.enumerated() {
            let ending = process.wait()
            #expect(ending == .exit(0), "\(context) trainer \(index + 1): \(process.stderr)")
            for word in ["locked", "busy", "BUSY"] {
                #expect(!process.stderr.contains(word), "\(process.stderr)")
            }
        }
    }

    @Test func concurrentTrainersAndAReaderShareOneDatabase() throws {
        let rounds = stress ? 5 : 1
        let trainers = stress ? 6 : 4
        let expected = reference
        var reads = 0
        for round in 1...rounds {
            // Given a database holding one short run
            let sandbox = try Sandbox()
            #expect(try sandbox.train(["--epochs", "1"]).status == 0)

            // When trainers start on it at the same instant, while a reader loops over queries
            let processes = try (1...trainers).map {
                try Background(sandbox, Plan.train, label: "train-\($0)")
            }
            let failures = try readWhileRunning(sandbox, processes, reads: &reads)

            // Then every process succeeded without a lock error
            #expect(failures.isEmpty, "round \(round) reader: \(failures)")
            expectClean(processes, "round \(round)")

            // And every run is complete, with exactly the uninterrupted run's weights
            #expect(try sandbox.value("PRAGMA integrity_check") == "ok")
            #expect(
                try sandbox.rows("SELECT id, status, epochs_done FROM run_summary WHERE id > 1 ORDER BY id")
                    == (2...trainers + 1).map { "\($0),completed,\(Plan.epochs)" })
            for id in 2...Int64(trainers + 1) {
                #expect(try sandbox.finalWeights(runID: id) == expected.weights, "run \(id)")
                #expect(try sandbox.metrics(runID: id) == expected.metrics, "run \(id)")
            }
        }
        print("ConcurrencyTests: \(rounds) rounds of \(trainers) trainers, \(reads) reads alongside")
    }

    @Test func concurrentTrainersCreateANewDatabaseTogether() throws {
        let rounds = stress ? 20 : 3
        var reads = 0
        var failed: [String] = []
        for round in 1...rounds {
            // Given no database file
            let sandbox = try Sandbox()

            // When four trainers and a reader all open it first, at the same instant
            let processes = try (1...4).map {
                try Background(sandbox, ["train", "--epochs", "1", "--val-size", "200"], label: "t\($0)")
            }
            failed += try readWhileRunning(sandbox, processes, reads: &reads)
            failed += processes.compactMap { $0.wait() == .exit(0) ? nil : "round \(round): \($0.stderr)" }

            // Then all four runs are recorded
            #expect(try sandbox.value("PRAGMA integrity_check") == "ok")
            if try sandbox.value("SELECT count(*) FROM runs WHERE status = 'completed'") != "4" {
                failed.append("round \(round): not 4 completed runs")
            }
        }
        #expect(failed.isEmpty, "\(failed)")
        print("ConcurrencyTests: \(rounds) rounds of 4 trainers creating one database: \(failed.count) failures")
    }
}
