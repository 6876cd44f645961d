import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `rm`, `prune` and `db vacuum` while another process trains: the live run is refused, the
/// others go, and the trainer loses nothing.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct RunManagementRaceTests {
    @Test func removalsRacingATrainerLoseNothingOfIt() throws {
        // Given four finished runs, and a fifth being trained, keeping every checkpoint
        let sandbox = try Sandbox()
        for _ in 1...4 { try sandbox.train(["--epochs", "2", "--keep-every", "1"]) }
        let trainer = try Background(
            sandbox,
            ["train", "--epochs", "100000", "--keep-every", "1", "--val-size", "200",
             "--batch-size", "50"],
            label: "trainer")
        defer { trainer.send(SIGKILL) }
        #expect(trainer.waitForLines("epoch "), "\(trainer.stderr)")

        // When its run is removed, or the file vacuumed
        let removeLive = try sandbox.run(["rm", "5"])
        let vacuum = try sandbox.run(["db", "vacuum"])

        // Then both are refused in one line naming its process
        expectCleanRefusal(removeLive, "rm of the live run")
        #expect(removeLive.stderr.contains("run 5 (process \(trainer.pid) on "), "\(removeLive.stderr)")
        expectCleanRefusal(vacuum, "db vacuum while training")
        #expect(vacuum.stderr.contains("run 5 (process \(trainer.pid) on "), "\(vacuum.stderr)")
        #expect(vacuum.stderr.contains("is being trained"), "\(vacuum.stderr)")

        // When the other runs are removed one by one, and every run pruned, as it trains
        for id in 1...4 {
            let before = trainer.stdout.split(separator: "\n").count
            let removed = try sandbox.run(["rm", "\(id)"])
            #expect(removed.status == 0, "rm \(id): \(removed.stderr)")
            let pruned = try sandbox.run(["prune", "--keep", "best,last"])
            #expect(pruned.status == 0, "prune: \(pruned.stderr)")
            // At least one epoch committed between two removals, so they interleave.
            #expect(trainer.wait { trainer.stdout.split(separator: "\n").count > before + 1 })
        }
        trainer.send(SIGINT)
        #expect(trainer.wait() == .exit(130), "\(trainer.stderr)")

        // Then only the trainer's run is left, with every epoch it printed, whole
        #expect(try sandbox.rows("SELECT id, status FROM runs") == ["5,interrupted"])
        let printed = trainer.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count
        #expect(try sandbox.value("SELECT count(*) FROM epochs") == "\(printed)")
        #expect(
            try sandbox.value("SELECT epochs_done, last_epoch FROM run_stats")
                == "\(printed),\(printed)")
        try expectConsistentAfterCrash(sandbox, runID: 5, context: "after the race")
        #expect(try sandbox.value("SELECT count(*) FROM pragma_foreign_key_check") == "0")
        let resumed = try sandbox.run(["resume", "5", "--epochs", "\(printed + 1)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }
}
