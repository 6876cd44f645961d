import Datasets
import Foundation
import TestSupport
import Testing

/// Random mutations of small valid IDX files, raw and gzip, read in-process: the reader never
/// crashes; it either throws DatasetError.malformed for that file or returns data whose size
/// matches its header.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct IDXFuzzTests {
    enum Mutation: CaseIterable {
        case flipBits, truncate, extend, editHeader, overwriteRun, splice
    }

    @Test(arguments: [false, true])
    func mutatedIDXFilesAreRefusedOrReadConsistently(compressed: Bool) throws {
        let iterations = stress ? 30_000 : 3_000
        var random = SeededRandom(seed: compressed ? 0xF022_0002 : 0xF022_0001)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnistlab-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        // Given small valid files: 6 images of 5×4 pixels (rank 3) and their 6 labels (rank 1)
        let seeds: [(rank: Int, bytes: [UInt8])] = try [
            (3, [0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 5, 0, 0, 0, 4] + (0..<120).map { UInt8($0 * 7 % 256) }),
            (1, [0, 0, 8, 1, 0, 0, 0, 6, 3, 1, 4, 1, 5, 9]),
        ].map { seed in (seed.0, compressed ? try gzip(seed.1, in: directory) : seed.1) }
        let path = directory.appendingPathComponent(compressed ? "fuzz.gz" : "fuzz").path

        var refused = 0
        var accepted = 0
        var kinds: [String: Int] = [:]
        for iteration in 0..<iterations {
            // When a random mutation of one of them is read
            let seed = seeds[iteration % seeds.count]
            let mutated = mutate(seed.bytes, &random)
            try Data(mutated).write(to: URL(fileURLWithPath: path))
            do {
                let array = try IDXArray.read(path: path, rank: seed.rank)
                // Then what it returns is consistent with its own header
                accepted += 1
                #expect(array.dimensions.count == seed.rank)
                #expect(array.dimensions.reduce(1, *) == array.bytes.count, "iteration \(iteration)")
            } catch {
                // Or it is refused as a malformed file, with a one-line reason naming the file
                refused += 1
                guard case .malformed(path, let problem) = error else {
                    Issue.record("iteration \(iteration): \(error)")
                    continue
                }
                #expect(error.description == "Cannot read dataset file \(path): \(problem).")
                #expect(!error.description.contains("\n"))
                let kind = "\(problem)".prefix(while: { $0 != "(" && !$0.isNumber })
                kinds[String(kind), default: 0] += 1
            }
        }
        print("IDXFuzzTests (\(compressed ? "gzip" : "raw")): \(iterations) mutations, \(accepted) read, \(refused) refused: \(kinds.sorted { $0.value > $1.value }.map { "\($0.value)× \($0.key)" }.joined(separator: "; "))")
    }

    func mutate(_ input: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Mutation.allCases.randomElement(using: &random)! {
            case .flipBits:
                guard !bytes.isEmpty else { continue }
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0...7, using: &random)
                }
            case .truncate:
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
            case .extend:
                bytes += (0..<Int.random(in: 1...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case .editHeader:
                // A header byte set to an extreme: the rank, or a dimension's high or low byte.
                guard bytes.count > 4 else { continue }
                let index = Int.random(in: 0..<min(bytes.count, 20), using: &random)
                bytes[index] = [0, 1, 0x7f, 0x80, 0xff].randomElement(using: &random)!
            case .overwriteRun:
                guard !bytes.isEmpty else { continue }
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let end = min(bytes.count, start + Int.random(in: 1...16, using: &random))
                let value = UInt8.random(in: 0...255, using: &random)
                for i in start..<end { bytes[i] = value }
            case .splice:
                guard bytes.count > 2 else { continue }
                let cut = Int.random(in: 1..<bytes.count, using: &random)
                bytes = Array(bytes[cut...] + bytes[..<cut])
            }
        }
        return bytes
    }

    /// The bytes compressed by the system gzip, as the MNIST files were.
    func gzip(_ bytes: [UInt8], in directory: URL) throws -> [UInt8] {
        let file = directory.appendingPathComponent("seed-\(bytes.count)")
        try Data(bytes).write(to: file)
        #expect(try shell("/bin/sh", ["-c", "gzip -n -f '\(file.path)'"]).status == 0)
        return [UInt8](try Data(contentsOf: file.appendingPathExtension("gz")))
    }
}
