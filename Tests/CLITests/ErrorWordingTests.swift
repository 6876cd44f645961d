import TestSupport
import Testing

/// The CLI's wording of dataset errors: Datasets says what is missing, the CLI adds the flag.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct ErrorWordingTests {
    @Test func missingDatasetPointsToTheDataFlag() throws {
        // Given a directory with no dataset
        let sandbox = try Sandbox()

        // When train is pointed at it
        let output = try sandbox.run(["train", "--data", "/nonexistent"])

        // Then the one-line error names the file, the directory and --data
        #expect(output.status == 1)
        #expect(
            output.stderr == "Error: Cannot find train-images-idx3-ubyte.gz (or "
                + "train-images-idx3-ubyte) in /nonexistent; --data must name a directory "
                + "holding the four MNIST IDX files.\n")
    }
}
