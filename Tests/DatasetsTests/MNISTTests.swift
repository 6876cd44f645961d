import Foundation
import TestSupport
import Testing

@testable import Datasets

@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct MNISTTests {
    /// The bundled dataset, found from this file's path so the test runs from any directory.
    static let bundled = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/mnist").path
    /// The bundled dataset loaded once for the suite (each load cost a debug build ~3 CPU-s).
    static let loaded = Result { try MNIST.load(directory: bundled) }

    @Test func bundledMNISTLoadsWithTheStandardSplit() throws {
        // When the bundled files are loaded and split
        let mnist = try Self.loaded.get()
        let (train, validation) = try mnist.split(validationSize: 10_000)

        // Then the shapes are MNIST's and pixels are scaled to (0, 1]
        #expect(mnist.training.count == 60_000)
        #expect(mnist.test.count == 10_000)
        #expect(mnist.inputSize == 784)
        #expect(train.count == 50_000 && validation.count == 10_000)
        #expect(train.images.value.allSatisfy { $0 > 0 && $0 <= 1 })
        #expect(mnist.checksum.hasPrefix("crc32:") && mnist.checksum.count == 14)
        // The validation set is the last 10,000 training images.
        #expect(validation.labels == Array(mnist.training.labels.suffix(10_000)))
        #expect(validation.images.denseRow(0) == mnist.training.images.denseRow(50_000))
        // About 81% of MNIST pixels are exactly zero.
        let density = Double(mnist.training.images.value.count) / (60_000 * 784)
        #expect(density > 0.15 && density < 0.25)
    }

    @Test func trainLimitTakesTheFirstImages() throws {
        let mnist = try Self.loaded.get()
        let (train, _) = try mnist.split(validationSize: 10_000, trainLimit: 500)
        #expect(train.count == 500)
        #expect(train.labels == Array(mnist.training.labels.prefix(500)))
        #expect(train.images.denseRow(499) == mnist.training.images.denseRow(499))
        #expect(throws: DatasetError.trainLimitOutOfRange(requested: 50_001, available: 50_000)) {
            try mnist.split(validationSize: 10_000, trainLimit: 50_001)
        }
        #expect(
            throws: DatasetError.validationSizeOutOfRange(requested: 0, trainingImages: 60_000)
        ) {
            try mnist.split(validationSize: 0)
        }
    }

    @Test func imageAndLabelCountMismatchIsRefused() throws {
        // Given a directory whose training labels are one short
        let directory = try makeDataset(trainImages: 4, trainLabels: 3)

        // Then loading names both files and both counts
        let mismatch = DatasetError.countMismatch(
            imagesPath: directory + "/train-images-idx3-ubyte", images: 4,
            labelsPath: directory + "/train-labels-idx1-ubyte", labels: 3)
        #expect(throws: mismatch) { try MNIST.load(directory: directory) }
        #expect(
            mismatch.description == "Cannot use the dataset: \(directory)/train-images-idx3-ubyte "
                + "has 4 images but \(directory)/train-labels-idx1-ubyte has 3 labels.")
    }

    @Test func smallDatasetInAnyDirectoryLoads() throws {
        let directory = try makeDataset(trainImages: 6, trainLabels: 6)
        let mnist = try MNIST.load(directory: directory)
        #expect(mnist.training.count == 6 && mnist.test.count == 2 && mnist.inputSize == 4)
    }

    @Test func missingFileIsNamed() throws {
        let directory = try makeDataset(trainImages: 2, trainLabels: 2)
        try FileManager.default.removeItem(atPath: directory + "/t10k-labels-idx1-ubyte")
        #expect(
            throws: DatasetError.missingFile(name: "t10k-labels-idx1-ubyte", directory: directory)
        ) {
            try MNIST.load(directory: directory)
        }
    }
}

/// A dataset of 2×2 images in a temporary directory, raw (not gzip) IDX files.
func makeDataset(trainImages: Int, trainLabels: Int) throws -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("mnistlab-ds-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let files: [(String, [UInt8])] = [
        ("train-images-idx3-ubyte", idx(dimensions: [trainImages, 2, 2], bytes: (0..<trainImages * 4).map { UInt8($0 * 7 % 256) })),
        ("train-labels-idx1-ubyte", idx(dimensions: [trainLabels], bytes: (0..<trainLabels).map { UInt8($0 % 10) })),
        ("t10k-images-idx3-ubyte", idx(dimensions: [2, 2, 2], bytes: [0, 1, 2, 3, 4, 5, 6, 7])),
        ("t10k-labels-idx1-ubyte", idx(dimensions: [2], bytes: [1, 2])),
    ]
    for (name, bytes) in files {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
    }
    return directory.path
}
