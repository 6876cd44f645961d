import CKernels
import Testing

@testable import Numerics

/// Results pinned to the bits the engine produced before the chunked scheduler and the
/// two-sample forward kernels (computed at commit 0fc9438): a change of partition, scheduling
/// or kernel blocking must not move a single bit. If one of these fails, the arithmetic
/// changed: that is a change of results, not a refactor.
@Suite(.timeLimit(.minutes(10)))
struct PinnedBitsTests {
    /// FNV-1a over the bit patterns of parameters, velocity and the summed statistics.
    static func fingerprint(_ parameters: [Float], _ velocity: [Float], _ stats: BatchStats)
        -> UInt64
    {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                h ^= (word >> UInt64(shift)) & 0xFF
                h = h &* 0x0000_0100_0000_01B3
            }
        }
        for x in parameters { mix(UInt64(x.bitPattern)) }
        for x in velocity { mix(UInt64(x.bitPattern)) }
        mix(stats.lossSum.bitPattern)
        mix(UInt64(stats.correct))
        mix(UInt64(stats.count))
        return h
    }

    /// NetworkTests' three architectures, 4 momentum steps (the last a ragged batch) + evaluate.
    static let expectedSmall: [UInt64] = [
        0x2864_4175_dc23_7383, 0xb9df_fa78_3a43_1d80, 0xc212_7492_fd20_2559,
    ]
    /// The seed network on MNIST-shaped synthetic digits: 12 plain-SGD steps of 200, a ragged
    /// step of 137, then evaluate 1000 rows.
    static let expectedSeed: UInt64 = 0x81ff_301d_fc42_eaf3

    @Test(arguments: 0..<NetworkTests.architectures.count)
    func smallNetworksKeepTheirBits(index: Int) {
        for threads in [1, 2, 3] {
            for k in KernelTests.paths {
                let r = NetworkTests().train(
                    NetworkTests.architectures[index], threads: threads, kernels: k)
                let got = Self.fingerprint(r.parameters, r.velocity, r.stats)
                #expect(got == Self.expectedSmall[index],
                    "architecture \(index), \(threads) threads, \(String(cString: k.pointee.name)): 0x\(String(got, radix: 16))")
            }
        }
    }

    static func trainSeed(threads: Int, kernels: UnsafePointer<mnl_kernels>?) -> UInt64 {
        let architecture = Architecture()
        let (inputs, labels) = syntheticDigits(count: 1000, seed: 5)
        let network = Network(
            architecture: architecture, parameters: architecture.initialParameters(seed: 3),
            maxBatchSize: 200)
        network.threads = threads
        network.kernels = kernels
        var stats = BatchStats()
        let order = epochOrder(seed: 3, epoch: 1, count: inputs.rowCount)
        for step in 0..<13 {
            let first = (step * 200) % 1000
            let count = step == 12 ? 137 : 200
            let rows = (0..<count).map { order[(first + $0) % 1000] }
            stats += network.train(
                rows: rows[...], of: inputs, labels: labels, learningRate: 0.1)
        }
        stats += network.evaluate(inputs, labels: labels)
        return fingerprint(network.parameters, network.velocity, stats)
    }

    @Test func seedNetworkKeepsItsBits() {
        // 8 threads on a small machine: workers get descheduled mid-region and the caller takes
        // their chunks, so chunks run in ever different places and orders.
        for threads in [1, 2, 3, 8] {
            for k in KernelTests.paths where String(cString: k.pointee.name) != "scalar" || threads == 1 {
                let got = Self.trainSeed(threads: threads, kernels: k)
                #expect(got == Self.expectedSeed,
                    "\(threads) threads, \(String(cString: k.pointee.name)): 0x\(String(got, radix: 16))")
            }
        }
    }
}

/// Random images shaped like MNIST's: 28×28, with about 19% of the pixels nonzero (each pixel
/// of the central 20×16 box with probability 0.47, value uniform in (0, 1]), and uniform
/// labels 0…9. `expectedSeed` was computed on them: change nothing here.
func syntheticDigits(count: Int, seed: UInt64) -> (images: SparseRows, labels: [UInt8]) {
    var generator = SplitMix64(seed: seed, stream: 0x5EED)
    var rowStart: [Int32] = [0]
    var column: [UInt16] = []
    var value: [Float] = []
    var labels: [UInt8] = []
    for _ in 0..<count {
        for y in 4..<24 {
            for x in 6..<22 where generator.nextUnitFloat() < 0.47 {
                column.append(UInt16(y * 28 + x))
                value.append(1 - generator.nextUnitFloat())
            }
        }
        rowStart.append(Int32(column.count))
        labels.append(UInt8(generator.next(below: 10)))
    }
    let images = SparseRows(
        rowCount: count, columnCount: 784, rowStart: rowStart, column: column, value: value)
    return (images, labels)
}
