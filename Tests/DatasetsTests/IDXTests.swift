import Foundation
import Testing

@testable import Datasets
import TestSupport

/// IDX files written by the tests themselves: good ones, and each way a file can be wrong.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct IDXTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnistlab-idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func rawAndGzipFilesReadTheSame() throws {
        // Given one IDX array written raw and gzip-compressed
        let images = idx(dimensions: [3, 2, 2], bytes: Array(0..<12))
        let raw = try write(images, "raw")
        let zipped = try write(try gzip(images), "zipped.gz")

        // When both are read
        let a = try IDXArray.read(path: raw, rank: 3)
        let b = try IDXArray.read(path: zipped, rank: 3)

        // Then they agree with what was written
        #expect(a == b)
        #expect(a.dimensions == [3, 2, 2])
        #expect(a.bytes == Array(0..<12))
    }

    @Test(arguments: [
        ([UInt8](), IDXProblem.tooShort),
        ([0, 0, 8, 1, 0, 0, 0], .truncatedHeader),
        ([0, 0, 9, 1, 0, 0, 0, 1, 5], .notUnsignedBytes(magic: [0, 0, 9, 1])),
        ([0, 0, 8, 3, 0, 0, 0, 1, 5], .wrongRank(expected: 1, found: 3)),
        ([0, 0, 8, 1, 0, 0, 0, 3, 5, 6], .wrongLength(dimensions: [3], expected: 3, found: 2)),
        ([0, 0, 8, 1, 0, 0, 0, 1, 5, 6], .wrongLength(dimensions: [1], expected: 1, found: 2)),
    ])
    func malformedFileIsRefusedWithItsReason(bytes: [UInt8], problem: IDXProblem) throws {
        let path = try write(bytes, "bad")
        #expect(throws: DatasetError.malformed(path: path, problem)) {
            try IDXArray.read(path: path, rank: 1)
        }
    }

    @Test func dimensionsWhoseProductOverflowsAreRefused() throws {
        let path = try write([0, 0, 8, 3] + [UInt8](repeating: 0xff, count: 12) + [1, 2], "huge")
        let huge = [0xffff_ffff, 0xffff_ffff, 0xffff_ffff]
        #expect(throws: DatasetError.malformed(path: path, .dimensionsTooLarge(huge))) {
            try IDXArray.read(path: path, rank: 3)
        }
    }

    @Test func malformedFileIsOneSentenceNamingTheFile() {
        let error = DatasetError.malformed(
            path: "/d/x", .wrongLength(dimensions: [3, 2], expected: 6, found: 2))
        #expect(
            error.description == "Cannot read dataset file /d/x: "
                + "dimensions 3×2 need 6 bytes of data, found 2 (truncated).")
        let magic = DatasetError.malformed(path: "/d/x", .notUnsignedBytes(magic: [0, 0, 9, 1]))
        #expect(
            magic.description
                == "Cannot read dataset file /d/x: not an IDX file of unsigned bytes (magic 0 0 9 1)."
        )
    }

    @Test func truncatedGzipIsRefused() throws {
        let zipped = try gzip(idx(dimensions: [1000], bytes: (0..<1000).map { UInt8($0 % 251) }))
        let path = try write(Array(zipped.prefix(zipped.count / 2)), "cut.gz")
        #expect(throws: DatasetError.malformed(path: path, .gzipTruncated)) {
            try IDXArray.read(path: path, rank: 1)
        }
    }

    @Test func corruptGzipIsRefused() throws {
        var zipped = try gzip(idx(dimensions: [1000], bytes: (0..<1000).map { UInt8($0 % 251) }))
        zipped[zipped.count - 6] ^= 0xff  // inside the CRC-32 trailer
        let path = try write(zipped, "crc.gz")
        #expect {
            try IDXArray.read(path: path, rank: 1)
        } throws: { error in
            guard case .malformed(path, .gzipCorrupt)? = error as? DatasetError else {
                return false
            }
            return true
        }
    }

    @Test func missingFileAndDirectoryAreRefused() throws {
        let missing = directory.appendingPathComponent("nope").path
        #expect(throws: DatasetError.noSuchFile(path: missing)) {
            try IDXArray.read(path: missing, rank: 1)
        }
        #expect(throws: DatasetError.notARegularFile(path: directory.path)) {
            try IDXArray.read(path: directory.path, rank: 1)
        }
    }
}

/// Header and body of an IDX file of unsigned bytes.
func idx(dimensions: [Int], bytes: [UInt8]) -> [UInt8] {
    var header: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for d in dimensions { header += [24, 16, 8, 0].map { UInt8((d >> $0) & 0xff) } }
    return header + bytes
}

/// Compresses with the system `gzip`, as the MNIST files were. The input goes through a file:
/// written into a pipe, it could fill the pipe while gzip waits to write its output.
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("mnistlab-gzip-\(UUID().uuidString)")
    try Data(bytes).write(to: input)
    defer { try? FileManager.default.removeItem(at: input) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "gzip -c < \"$0\"", input.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    return Array(process.waitForExit(reading: [output]).output[0])
}
