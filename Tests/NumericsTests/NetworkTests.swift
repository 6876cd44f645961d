import CKernels
import Testing

@testable import Numerics

/// The engine's determinism guarantees: the same bits for any thread count, any kernel path,
/// and any repetition with the same seed.
@Suite(.timeLimit(.minutes(10)))
struct NetworkTests {
    /// MNIST's shape (784 → 100 → 10, batch 200) plus a deeper net with odd widths.
    static let architectures = [
        Architecture(),
        Architecture(inputs: 61, hidden: [37, 13], outputs: 10, activation: .relu),
        Architecture(inputs: 61, hidden: [129, 300], outputs: 7, activation: .leakyRelu, loss: .mse),
    ]

    /// Trains a few steps with momentum and returns parameters, velocity and the stats.
    func train(
        _ architecture: Architecture, threads: Int = 0, kernels: UnsafePointer<mnl_kernels>? = nil,
        steps: Int = 4, seed: UInt64 = 42
    ) -> (parameters: [Float], velocity: [Float], stats: BatchStats) {
        let batch = architecture.inputs == 784 ? 200 : 23
        let (inputs, labels) = randomBatch(
            rows: batch * 2 + 5, columns: architecture.inputs, classes: architecture.outputs,
            seed: seed)
        let network = Network(
            architecture: architecture, parameters: architecture.initialParameters(seed: seed),
            maxBatchSize: batch)
        network.threads = threads
        network.kernels = kernels
        var stats = BatchStats()
        for step in 1...steps {
            let order = epochOrder(seed: seed, epoch: step, count: inputs.rowCount)
            stats += network.train(
                rows: order[0..<(step == steps ? batch - 3 : batch)], of: inputs, labels: labels,
                learningRate: 0.1, momentum: 0.9)
        }
        stats += network.evaluate(inputs, labels: labels)
        return (network.parameters, network.velocity, stats)
    }

    @Test(arguments: 0..<architectures.count)
    func oneTwoAndThreeThreadsGiveIdenticalBits(index: Int) {
        // Given one network trained on 1 thread
        let architecture = Self.architectures[index]
        let one = train(architecture, threads: 1)

        // When the same training runs on 2 and 3 threads
        for threads in [2, 3] {
            let many = train(architecture, threads: threads)

            // Then parameters, momentum and statistics are the same bits
            #expect(differingBits(many.parameters, one.parameters) == 0, "\(threads) threads")
            #expect(differingBits(many.velocity, one.velocity) == 0, "\(threads) threads")
            #expect(many.stats == one.stats)
        }
    }

    @Test(arguments: 0..<architectures.count)
    func everyKernelPathTrainsIdentically(index: Int) {
        let architecture = Self.architectures[index]
        let scalar = train(architecture, kernels: KernelTests.scalar)
        for k in KernelTests.paths.dropFirst() {
            let other = train(architecture, kernels: k)
            #expect(differingBits(other.parameters, scalar.parameters) == 0,
                "\(String(cString: k.pointee.name)) differs from scalar")
            #expect(other.stats == scalar.stats)
        }
    }

    @Test func sameSeedGivesIdenticalParameters() throws {
        let first = train(Self.architectures[0], seed: 9)
        let second = train(Self.architectures[0], seed: 9)
        let other = train(Self.architectures[0], seed: 10)
        #expect(differingBits(first.parameters, second.parameters) == 0)
        #expect(first.stats == second.stats)
        #expect(try #require(differingBits(first.parameters, other.parameters)) > 0)
    }

    @Test func evaluateCountsEveryRowOnce() {
        let architecture = Architecture(inputs: 20, hidden: [9], outputs: 4)
        let (inputs, labels) = randomBatch(rows: 17, columns: 20)
        let network = Network(
            architecture: architecture, parameters: architecture.initialParameters(seed: 1),
            maxBatchSize: 5)
        let stats = network.evaluate(inputs, labels: labels)
        #expect(stats.count == 17)
        // Batching must not change the totals: one batch of all 17 rows gives the same.
        let whole = Network(
            architecture: architecture, parameters: architecture.initialParameters(seed: 1),
            maxBatchSize: 17)
        let reference = whole.evaluate(inputs, labels: labels)
        #expect(stats.correct == reference.correct)
        #expect(abs(stats.lossSum - reference.lossSum) < 1e-9)
    }

    @Test func trainingReducesTheLoss() {
        let architecture = Architecture(inputs: 30, hidden: [16], outputs: 4)
        let (inputs, labels) = randomBatch(rows: 40, columns: 30)
        let network = Network(
            architecture: architecture, parameters: architecture.initialParameters(seed: 2),
            maxBatchSize: 40)
        let before = network.evaluate(inputs, labels: labels).meanLoss
        for _ in 0..<200 {
            network.train(rows: (0..<40)[...].map { Int32($0) }[...], of: inputs, labels: labels,
                learningRate: 0.5)
        }
        #expect(network.evaluate(inputs, labels: labels).meanLoss < before * 0.5)
    }
}
