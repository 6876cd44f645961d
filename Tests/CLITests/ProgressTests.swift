import Foundation
import TestSupport
import Testing

/// The live progress line `train` draws on a terminal, and leaves out when piped.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct ProgressTests {
    /// Epochs of 100 batches (1,000 training images in batches of 10).
    let epochs = ["--epochs", "2", "--val-size", "200", "--batch-size", "10"]
    /// A progress update after every batch, however fast the machine trains.
    let everyBatch = ["MNISTLAB_PROGRESS_INTERVAL": "0"]

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func terminalShowsAProgressLineRedrawnInPlace() throws {
        // Given a terminal (util-linux `script` runs the command on a pseudo-terminal)
        let sandbox = try Sandbox()
        let command = ([mnistlabBinary, "train"] + epochs).map { "'\($0)'" }.joined(separator: " ")

        // When a run trains there
        let output = try sandbox.run(
            ["-qefc", command, "/dev/null"], environment: everyBatch,
            executable: "/usr/bin/script")

        // Then progress lines are redrawn with \r, and each epoch line clears the last of them
        #expect(output.status == 0, "\(output.stderr)")
        let clear = "\r\u{1B}[K"
        #expect(output.stdout.contains(clear + "epoch    1  1/100 batches  loss "))
        #expect(output.stdout.contains(clear + "epoch    2  100/100 batches  loss "))
        #expect(output.stdout.contains(" ETA "))
        #expect(output.stdout.contains(clear + "epoch    1  train loss "))
        #expect(output.stdout.contains(clear + "epoch    2  train loss "))
    }

    @Test func pipedOutputHasOnlyWholeLines() throws {
        let sandbox = try Sandbox()
        let output = try sandbox.run(["train"] + epochs, environment: everyBatch)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(!output.stdout.contains("\r") && !output.stdout.contains("\u{1B}"))
        #expect(output.lines.filter { $0.hasPrefix("epoch ") }.count == 2)
    }
}
