import Benchmarking
import Numerics
import Testing

/// What `mnistlab bench` computes besides the clock readings: FLOP counts, medians, and the
/// shape of its report. Nothing here depends on how fast the machine is.
@Suite(.timeLimit(.minutes(10)))
struct EpochBenchmarkTests {
    @Test func seedEpochCountsTheFLOPsBenchmarksReadmeQuotes() {
        // Given the seed network over the 50,000 training images
        let seed = Architecture()

        // When every pixel is nonzero, and when none is
        let dense = EpochBenchmark.flopsPerEpoch(seed, samples: 50_000, nonzeros: 50_000 * 784)
        let empty = EpochBenchmark.flopsPerEpoch(seed, samples: 50_000, nonzeros: 0)

        // Then the dense count is the 15.98 GFLOP of Benchmarks/README.md, a fully dense
        // batch executes all of it, and an empty one only the layers after the first
        #expect(dense.dense == 15_980_000_000)
        #expect(dense.executed == dense.dense)
        #expect(empty.dense == dense.dense)
        #expect(empty.executed == 50_000 * 6 * 100 * 10)
    }

    @Test func medianTakesTheMiddleOrTheMeanOfTheTwoMiddles() {
        #expect(median([3, 1, 2]) == 2)
        #expect(median([4, 1, 3, 2]) == 2.5)
        #expect(median([7]) == 7)
        #expect(median([]).isNaN)
    }

    @Test func benchmarkMeasuresEachEpochAfterTheWarmUp() {
        // Given a small network and 60 random rows
        let architecture = Architecture(inputs: 20, hidden: [8], outputs: 4)
        var random = SplitMix64(seed: 4)
        let dense = (0..<60 * 20).map { _ -> Float in
            let u = random.nextUnitFloat()
            return u < 0.5 ? 0 : u
        }
        let rows = SparseRows(dense: dense, rowCount: 60, columnCount: 20)
        let labels = (0..<60).map { _ in UInt8(random.next(below: 4)) }

        // When three epochs are measured
        let result = benchmarkEpochs(
            architecture: architecture, train: rows, trainLabels: labels, validation: rows,
            validationLabels: labels, epochs: 3, batchSize: 16)

        // Then there are three timings of each kind, the validation covers every row, and the
        // JSON line says so
        #expect(result.trainSeconds.count == 3)
        #expect(result.evaluateSeconds.count == 3)
        #expect(result.trainCPUSeconds.count == 3)
        #expect((result.trainSeconds + result.evaluateSeconds).allSatisfy { $0 >= 0 })
        #expect(result.validation.count == 60)
        #expect(result.validation.meanLoss.isFinite)
        #expect(result.kernelPath == Network.kernelPath)
        #expect(result.threads >= 1)
        #expect(result.json.hasPrefix("{\"kernel_path\": \"\(Network.kernelPath)\""))
        #expect(result.json.contains("\"layers\": \"20-8-4\""))
        #expect(result.json.contains("\"epochs\": 3,"))
    }
}
