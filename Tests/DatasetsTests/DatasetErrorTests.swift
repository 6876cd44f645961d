import TestSupport
import Testing

@testable import Datasets

/// Datasets words its errors as plain sentences; only the CLI knows its flags.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct DatasetErrorTests {
    static let everyCase: [DatasetError] = [
        .missingFile(name: "train-images-idx3-ubyte", directory: "/d"),
        .noSuchFile(path: "/d/x"), .notARegularFile(path: "/d/x"),
        .unreadable(path: "/d/x", reason: "Permission denied"),
        .countMismatch(imagesPath: "/d/i", images: 4, labelsPath: "/d/l", labels: 3),
        .noPixels(path: "/d/i"), .imagesTooLarge(path: "/d/i", height: 1, width: 70_000),
        .labelOutOfRange(path: "/d/l", label: 10, index: 100),
        .pixelCountMismatch(directory: "/d", training: 784, test: 729),
        .validationSizeOutOfRange(requested: 0, trainingImages: 60_000),
        .trainLimitOutOfRange(requested: 50_001, available: 50_000),
    ] + [
        IDXProblem.tooShort, .notUnsignedBytes(magic: [0, 0, 9, 1]),
        .wrongRank(expected: 1, found: 3), .truncatedHeader, .dimensionsTooLarge([1, 2, 3]),
        .wrongLength(dimensions: [3], expected: 3, found: 2), .gzipTruncated,
        .gzipCorrupt(reason: "invalid block type"), .gzipTooLarge(limit: 1 << 31), .zlibFailed,
    ].map { DatasetError.malformed(path: "/d/x", $0) }

    @Test(arguments: everyCase)
    func descriptionIsOnePlainSentenceWithoutFlags(error: DatasetError) {
        let text = error.description
        #expect(!text.contains("--") && !text.contains("mnistlab"), "\(text)")
        #expect(!text.contains("\n") && text.hasSuffix("."), "\(text)")
    }

    @Test func missingFileNamesBothFileNamesAndTheDirectory() {
        let error = DatasetError.missingFile(name: "t10k-labels-idx1-ubyte", directory: "/data")
        #expect(
            error.description
                == "Cannot find t10k-labels-idx1-ubyte.gz (or t10k-labels-idx1-ubyte) in /data.")
    }
}
