import CKernels
import Testing

@testable import Numerics

/// L2 weight decay inside the SGD update: the same bits on every kernel path and thread count,
/// the naive twin's bits on the scalar path, biases untouched, and nothing changed at λ = 0.
@Suite(.timeLimit(.minutes(10)))
struct WeightDecayTests {
    @Test(arguments: [Float(0), 0.9])
    func decayedUpdateMatchesNaiveAndPathsAgree(momentum: Float) {
        // Given parameters, a momentum buffer and a gradient with vector tails (1001 elements)
        var random = SplitMix64(seed: 78)
        let p = randomFloats(1001, &random)
        let v = randomFloats(1001, &random)
        let g = randomFloats(1001, &random)

        // When every path applies the decayed update
        let results = KernelTests.paths.map { k in
            var (pk, vk) = (p, v)
            k.pointee.sgd_update_decayed(&pk, &vk, g, Int32(p.count), 0.1, momentum, 0.01)
            return pk + vk
        }

        // Then the scalar path gives the naive twin's bits and every path the scalar's
        var (pn, vn) = (p, v)
        sgdUpdateDecayedNaive(
            parameters: &pn, velocity: &vn, gradient: g, learningRate: 0.1, momentum: momentum,
            decay: 0.01)
        #expect(differingBits(results[0], pn + vn) == 0)
        expectPathsAgree(results, "decayed sgd μ=\(momentum)")
        // And decay changed something (the test can fail)
        var (pu, vu) = (p, v)
        sgdUpdateNaive(
            parameters: &pu, velocity: &vu, gradient: g, learningRate: 0.1, momentum: momentum)
        #expect((differingBits(pu, pn) ?? 0) > 0)
    }

    /// The seed network's architectures trained with decay and momentum.
    func train(
        _ architecture: Architecture, threads: Int, kernels: UnsafePointer<mnl_kernels>?,
        weightDecay: Float, momentum: Float = 0.9
    ) -> (parameters: [Float], velocity: [Float], stats: BatchStats) {
        let batch = 23
        let (inputs, labels) = randomBatch(
            rows: batch * 2 + 5, columns: architecture.inputs, classes: architecture.outputs,
            seed: 9)
        let network = Network(
            architecture: architecture, parameters: architecture.initialParameters(seed: 9),
            maxBatchSize: batch)
        network.threads = threads
        network.kernels = kernels
        var stats = BatchStats()
        for step in 1...4 {
            let order = epochOrder(seed: 9, epoch: step, count: inputs.rowCount)
            stats += network.train(
                rows: order[0..<(step == 4 ? batch - 3 : batch)], of: inputs, labels: labels,
                learningRate: 0.1, momentum: momentum, weightDecay: weightDecay)
        }
        stats += network.evaluate(inputs, labels: labels)
        return (network.parameters, network.velocity, stats)
    }

    static let architectures = [
        Architecture(inputs: 61, hidden: [37, 13], outputs: 10, activation: .relu),
        Architecture(inputs: 70, hidden: [100], outputs: 10),
    ]

    @Test(arguments: 0..<architectures.count, [Float(0), 0.9])
    func everyKernelPathAndThreadCountGivesTheSameBits(index: Int, momentum: Float) {
        // Given training with weight decay on the scalar path and one thread
        let architecture = Self.architectures[index]
        let reference = train(
            architecture, threads: 1, kernels: KernelTests.scalar, weightDecay: 1e-3,
            momentum: momentum)

        // When every path trains the same on 1, 2 and 3 threads
        for k in KernelTests.paths {
            for threads in [1, 2, 3] {
                let other = train(
                    architecture, threads: threads, kernels: k, weightDecay: 1e-3,
                    momentum: momentum)

                // Then parameters, momentum and statistics are the same bits
                let name = "\(String(cString: k.pointee.name)), \(threads) threads"
                #expect(differingBits(other.parameters, reference.parameters) == 0, "\(name)")
                #expect(differingBits(other.velocity, reference.velocity) == 0, "\(name)")
                #expect(other.stats == reference.stats, "\(name)")
            }
        }
    }

    @Test func decayShrinksWeightsButNotBiases() {
        // Given the same training with and without decay
        let architecture = Self.architectures[1]
        let plain = train(architecture, threads: 1, kernels: nil, weightDecay: 0)
        let decayed = train(architecture, threads: 1, kernels: nil, weightDecay: 0.5)

        // Then the weights are smaller in norm with decay
        func weightNorm(_ p: [Float]) -> Double {
            (0..<architecture.layerCount).reduce(0.0) { total, l in
                let layer = architecture.layout(ofLayer: l)
                return total + p[layer.weightOffset..<layer.biasOffset].reduce(0.0) {
                    $0 + Double($1 * $1)
                }
            }
        }
        #expect(weightNorm(decayed.parameters) < weightNorm(plain.parameters))
    }

    @Test func biasesAreNotDecayed() {
        // Given a network and its gradient on a batch; one step with momentum from a zero
        // velocity leaves in the velocity exactly the gradient the update used
        let architecture = Self.architectures[1]
        let (inputs, labels) = randomBatch(rows: 23, columns: 70, classes: 10, seed: 4)
        let parameters = architecture.initialParameters(seed: 4)
        let rows = (0..<Int32(23)).map { $0 }[...]
        let gradient = Network(
            architecture: architecture, parameters: parameters, maxBatchSize: 23
        ).gradient(rows: rows, of: inputs, labels: labels).gradient
        let network = Network(architecture: architecture, parameters: parameters, maxBatchSize: 23)

        // When it steps with decay λ
        let lambda: Float = 0.25
        network.train(
            rows: rows, of: inputs, labels: labels, learningRate: 0.1, momentum: 0.5,
            weightDecay: lambda)

        // Then each weight's velocity is g + λw and each bias's is g
        for l in 0..<architecture.layerCount {
            let layer = architecture.layout(ofLayer: l)
            for k in layer.weightOffset..<layer.biasOffset {
                #expect(network.velocity[k] == gradient[k] + lambda * parameters[k])
            }
            for k in layer.biasOffset..<layer.biasOffset + layer.fanOut {
                #expect(network.velocity[k] == gradient[k])
            }
        }
    }
}
