import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One owner per run, across processes: a second claim is refused while the first holds the
/// run, a holder that stopped renewing is taken over once its lease expires and then writes
/// nothing more, and a teammate who may only read the file can still query it.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct RunOwnershipTests {
    /// Settings that keep a run training for seconds on the small dataset.
    static let long = ["--val-size", "200", "--batch-size", "50", "--keep-every", "1000"]

    @Test func secondResumeOfARunningRunIsRefusedAndChangesNothing() throws {
        // Given a run being resumed by one process
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let first = try Background(sandbox, ["resume", "1", "--epochs", "100000"], label: "first")
        #expect(first.waitForLines("epoch "), "\(first.stderr)")

        // When a second process resumes it too
        let second = try sandbox.run(["resume", "1", "--epochs", "100000"])

        // Then the second is refused in one line naming the holder, and the first goes on
        expectCleanRefusal(second, "second resume")
        #expect(second.stderr.contains("Run 1 is being trained by process \(first.pid)"), "\(second.stderr)")
        #expect(first.isRunning)
        let before = try sandbox.value("SELECT count(*) FROM epochs WHERE run_id = 1").flatMap { Int($0) } ?? 0
        #expect(first.wait { (try? sandbox.value("SELECT count(*) FROM epochs WHERE run_id = 1")).flatMap { $0.flatMap(Int.init) } ?? 0 > before })
        first.send(SIGINT)
        #expect(first.wait() == .exit(130), "\(first.stderr)")
        #expect(try sandbox.rows("SELECT status, failure_reason IS NULL FROM runs") == ["interrupted,1"])
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "1")
    }

    @Test func expiredLeaseIsTakenOverAndTheOldHolderWritesNothingMore() throws {
        // Given a trainer holding a 2-second lease, then frozen (as a laptop lid closing would)
        let sandbox = try Sandbox()
        let lease = ["MNISTLAB_LEASE_SECONDS": "2"]
        let frozen = try Background(
            sandbox, ["train", "--epochs", "100000"] + Self.long, label: "frozen", environment: lease)
        #expect(frozen.waitForLines("epoch "), "\(frozen.stderr)")
        try sandbox.freezeOutsideATransaction(frozen)
        defer { frozen.send(SIGKILL) }

        // When its lease runs out, readers see the run interrupted without anyone writing,
        // and another process resumes it
        var shown: String?
        for _ in 0..<200 where shown != "interrupted" {
            usleep(50_000)
            shown = try sandbox.status(runID: 1)
        }
        #expect(shown == "interrupted")
        let takeover = try Background(
            sandbox, ["resume", "1", "--epochs", "100000"], label: "takeover", environment: lease)
        #expect(takeover.waitForLines("epoch "), "\(takeover.stderr)")

        // Then the frozen one, woken, finds the run taken and stops without writing to it
        frozen.send(SIGCONT)
        #expect(frozen.wait() == .exit(1), "\(frozen.stderr)")
        #expect(frozen.stderr.contains("Run 1 was taken over by another process"), "\(frozen.stderr)")
        #expect(takeover.isRunning, "\(takeover.stderr)")
        takeover.send(SIGINT)
        #expect(takeover.wait() == .exit(130), "\(takeover.stderr)")

        // And the run's epochs are whole and numbered without a gap or a duplicate
        let facts = try sandbox.value(
            "SELECT count(*) = max(epoch), min(epoch) FROM epochs WHERE run_id = 1")
        #expect(facts == "1,1")
        #expect(try sandbox.rows("SELECT status FROM runs") == ["interrupted"])
    }

    @Test(
        .enabled(if: sqlite3Tool != nil, "sqlite3 is needed to see whether the stopped trainer holds the write lock"),
        arguments: Sandbox.Store.all)
    func ctrlZStopsATrainerBetweenItsTransactionsSoItsRunIsTakenOver(store: Sandbox.Store) throws {
        // Given a trainer recording an epoch and renewing its lease several times a second
        let sandbox = try Sandbox(store)
        let lease = ["MNISTLAB_LEASE_SECONDS": "2"]
        let trainer = try Background(
            sandbox, ["train", "--epochs", "100000"] + Self.long, label: "trainer", environment: lease)
        defer { trainer.send(SIGKILL) }
        #expect(trainer.waitForLines("epoch "), "\(trainer.stderr)")

        // When Ctrl-Z reaches it again and again, each time as it writes to the store (its
        // SQLite log changes, or its PostgreSQL session is inside a transaction)
        var log = WALWatcher(database: sandbox.database)
        let writing: () -> Bool = {
            store == .sqlite ? log.changed() : (try? sandbox.holdsNoTransaction()) == false
        }
        for attempt in 1...20 {
            #expect(trainer.wait(until: writing, seconds: 60), "attempt \(attempt): \(trainer.stderr)")
            trainer.send(SIGTSTP)

            // Then each time it stops holding no transaction: another process can write
            #expect(trainer.waitUntilStopped(), "attempt \(attempt)")
            #expect(try sandbox.holdsNoTransaction() == true, "attempt \(attempt)")
            if attempt < 20 { trainer.send(SIGCONT) }
        }

        // And, left stopped past its lease, its run is taken over by another process, and the
        // trainer, continued, stops without writing to it
        #expect(trainer.wait(until: { (try? sandbox.status(runID: 1)) == "interrupted" }, seconds: 60))
        let takeover = try Background(
            sandbox, ["resume", "1", "--epochs", "100000"], label: "takeover", environment: lease)
        defer { takeover.send(SIGKILL) }
        #expect(takeover.waitForLines("epoch "), "\(takeover.stderr)")
        trainer.send(SIGCONT)
        #expect(trainer.wait() == .exit(1), "\(trainer.stderr)")
        #expect(trainer.stderr.contains("Run 1 was taken over by another process"), "\(trainer.stderr)")
        takeover.send(SIGINT)
        #expect(takeover.wait() == .exit(130), "\(takeover.stderr)")
    }

    @Test func fileTheUserMayOnlyReadIsQueriedWithoutAnyWrite() throws {
        // Given a database written by root, in a directory only root may write, and a copy of
        // the binary that another user may run
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3"])
        try sandbox.train(["--epochs", "2", "--name", "second"])
        let binary = sandbox.path("mnistlab-copy")
        try copyMnistlab(to: binary)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: sandbox.directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: sandbox.database)
        let before = try directorySnapshot(sandbox.directory)
        guard let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }), geteuid() == 0 else {
            Issue.record("needs root and runuser (util-linux) to act as another user")
            return
        }

        // When user nobody runs every query command on it
        for command in [
            ["runs"], ["show", "1"], ["best"], ["best", "2"], ["compare", "1", "2"],
            ["sql", "SELECT count(*) FROM epochs"], ["export", "1"], ["report", "1", "-o", "-"],
            ["db", "status"],
        ] {
            let output = try sandbox.run(
                ["-u", "nobody", "--", binary] + command + ["--db", sandbox.database],
                executable: runuser)

            // Then each works
            #expect(output.status == 0, "\(command): \(output.stderr)")
            #expect(output.stderr.isEmpty, "\(command): \(output.stderr)")
        }
        // And a write is refused in one line
        let resume = try sandbox.run(
            ["-u", "nobody", "--", binary, "resume", "1", "--epochs", "5", "--db", sandbox.database],
            executable: runuser)
        expectCleanRefusal(resume, "resume of a file nobody may only read")

        // And nothing in the directory changed
        #expect(try directorySnapshot(sandbox.directory) == before)
    }

    @Test func emptyFileStaysEmptyAndAnEmptyPathIsRefused() throws {
        // Given a 0-byte file where the database should be
        let sandbox = try Sandbox()
        _ = FileManager.default.createFile(atPath: sandbox.database, contents: nil)

        // When the query commands open it
        for command in [["runs"], ["db", "status"], ["sql", "SELECT 1"]] {
            // Then each says there is no database there, and the file stays empty
            expectCleanRefusal(try sandbox.run(command), "\(command)")
        }
        #expect(fileBytes(sandbox.database)?.isEmpty == true)

        // And an empty --db or MNISTLAB_DB is refused before anything is trained
        expectCleanRefusal(try sandbox.train(["--db", ""]), "--db ''")
        expectCleanRefusal(
            try sandbox.run(["train", "--epochs", "1"], environment: ["MNISTLAB_DB": ""]),
            "MNISTLAB_DB=''")
        #expect(fileBytes(sandbox.database)?.isEmpty == true)

        // And a one-character name in the current directory is a database like any other
        #expect(try sandbox.train(["--db", "b"]).status == 0)
        for command in [["runs"], ["db", "status"], ["db", "migrate"]] {
            let output = try sandbox.run(command + ["--db", "b"])
            #expect(output.status == 0, "\(command): \(output.stderr)")
        }
    }

    /// Each file's name, size and modification time, to show that nothing was written.
    func directorySnapshot(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map { name in
            let attributes = try FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent(name).path)
            let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(name) \(size) \(modified)"
        }
    }
}
