import Foundation
import TestSupport
import Testing

/// A loss that becomes NaN fails the run with the epoch in its reason; what came before is
/// kept, and the run goes on with a smaller learning rate.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct DivergenceTests {
    @Test func divergedForkFailsCleanlyAndResumesWithASmallerRate() throws {
        // Given three good epochs of a ReLU network
        let sandbox = try Sandbox()
        let base = ["--val-size", "200", "--batch-size", "50", "--activation", "relu", "--keep-every", "1"]
        #expect(try sandbox.run(["train", "--epochs", "3"] + base).status == 0)
        let parentBefore = try parentState(sandbox)

        // When it is continued with a learning rate that makes the loss NaN
        let diverged = try sandbox.run(["resume", "1", "--from", "last", "--epochs", "6", "--learning-rate", "1e30"])

        // Then the fork fails with one line naming the epoch, and the parent is untouched
        expectCleanRefusal(diverged, "diverged")
        #expect(diverged.stderr.contains("Run 2 failed: training loss became NaN at epoch 4"), "\(diverged.stderr)")
        #expect(try sandbox.rows("SELECT status, failure_reason LIKE '%epoch 4%' FROM runs WHERE id = 2") == ["failed,1"])
        #expect(try sandbox.value("SELECT count(*) FROM epochs WHERE run_id = 2") == "0")
        #expect(try parentState(sandbox) == parentBefore)

        // And the parent's last good epoch resumes with a smaller rate
        let fromParent = try sandbox.run(["resume", "1", "--from", "last", "--epochs", "6", "--learning-rate", "0.05"])
        #expect(fromParent.status == 0, "\(fromParent.stderr)")
        #expect(try sandbox.rows(
            "SELECT parent_run_id, parent_epoch, learning_rate, status, epochs_done, last_epoch FROM run_summary WHERE id = 3"
        ) == ["1,3,0.05,completed,3,6"])

        // And so does the failed run itself, as its error message advises: it recorded no
        // epoch, so it restarts in place from its fork point with the new rate in its row
        do {
            let recovered = try sandbox.run(["resume", "2", "--learning-rate", "0.05"])
            #expect(recovered.status == 0, "\(recovered.stderr)")
            #expect(try sandbox.rows(
                "SELECT parent_run_id, parent_epoch, learning_rate, status, last_epoch FROM run_summary WHERE id = 2"
            ) == ["1,3,0.05,completed,6"])
            #expect(try sandbox.value("SELECT count(*) FROM runs") == "3")
        }
        #expect(try sandbox.value("PRAGMA integrity_check") == "ok")
    }

    @Test func runThatDivergesInItsFirstEpochFailsAndRetriesWithASmallerRate() throws {
        // Given a run whose rate makes its very first batch NaN
        let sandbox = try Sandbox()
        let base = ["--val-size", "200", "--batch-size", "50", "--activation", "relu", "--keep-every", "1"]
        #expect(try sandbox.run(["train", "--epochs", "2", "--learning-rate", "1e30"] + base).status == 1)

        #expect(try sandbox.rows("SELECT status, failure_reason LIKE '%epoch 1,%' FROM runs") == ["failed,1"])

        // When it is resumed with its own settings, Then it fails the same way again, cleanly
        let again = try sandbox.run(["resume", "1"])
        expectCleanRefusal(again, "resume a diverging run in place")
        #expect(try sandbox.status(runID: 1) == "failed")

        #expect(again.stderr.contains("No epoch was recorded; `mnistlab resume 1 --learning-rate <smaller>` restarts it."))

        // And resumed with a smaller rate, as the error advises, it starts over in place (it
        // has no epoch to fork from, and a new run would have no parent), its row saying so
        let retry = try sandbox.run(["resume", "1", "--learning-rate", "0.05"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(try sandbox.rows(
            "SELECT id, parent_run_id IS NULL, learning_rate, status, epochs_done, failure_reason IS NULL FROM run_summary ORDER BY id"
        ) == ["1,1,0.05,completed,2,1"])
        #expect(try sandbox.value("PRAGMA integrity_check") == "ok")
    }

    func parentState(_ sandbox: Sandbox) throws -> [String] {
        try [
            "SELECT * FROM runs WHERE id = 1", "SELECT * FROM epochs WHERE run_id = 1",
            "SELECT epoch, hex(weights) FROM checkpoints WHERE run_id = 1",
        ].flatMap { try sandbox.rows($0) }
    }
}
