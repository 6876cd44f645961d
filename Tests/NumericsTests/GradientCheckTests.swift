import Testing

@testable import Numerics

/// Centred finite differences in Double against the engine's analytic gradient, for every
/// activation × loss pair, compared parameter block by parameter block ("dW1", "db1", …).
@Suite(.timeLimit(.minutes(10)))
struct GradientCheckTests {
    /// A small network with two hidden layers so that the hidden-to-hidden path is checked too.
    static let sizes = (inputs: 12, hidden: [7, 5], outputs: 4, batch: 6)

    @Test(arguments: Activation.allCases, Loss.allCases)
    func analyticGradientMatchesFiniteDifferences(activation: Activation, loss: Loss) {
        // Given a small random network and batch
        let architecture = Architecture(
            inputs: Self.sizes.inputs, hidden: Self.sizes.hidden, outputs: Self.sizes.outputs,
            activation: activation, loss: loss)
        let (inputs, labels) = randomBatch(rows: Self.sizes.batch, columns: Self.sizes.inputs)
        let parameters = architecture.initialParameters(seed: 3)
        let rows = (0..<Int32(Self.sizes.batch)).map { $0 }[...]

        // When the engine computes the gradient
        let network = Network(
            architecture: architecture, parameters: parameters, maxBatchSize: Self.sizes.batch)
        let analytic = network.gradient(rows: rows, of: inputs, labels: labels).gradient

        // Then every parameter block agrees with finite differences of the Double reference loss
        let numeric = finiteDifferenceGradient(
            architecture: architecture, parameters: parameters, inputs: inputs, labels: labels)
        for l in 0..<architecture.layerCount {
            let layer = architecture.layout(ofLayer: l)
            let blocks = [
                ("dW\(l + 1)", layer.weightOffset..<layer.biasOffset),
                ("db\(l + 1)", layer.biasOffset..<layer.biasOffset + layer.fanOut),
            ]
            for (name, range) in blocks {
                let error = maxRelativeError(Array(analytic[range]), Array(numeric[range]))
                #expect(error < 1e-3, "\(name): max relative error \(error)")
            }
        }
    }

    /// With weight decay λ the update descends L + ½λ‖W‖² (weights only, not biases): the
    /// gradient it applies, read from the momentum buffer after one step from zero velocity
    /// (v = 0·μ + g + λw), must match finite differences of that regularised loss.
    @Test(arguments: Activation.allCases)
    func weightDecayGradientMatchesFiniteDifferences(activation: Activation) {
        // Given a small random network and batch, and a decay large enough to matter
        let architecture = Architecture(
            inputs: Self.sizes.inputs, hidden: Self.sizes.hidden, outputs: Self.sizes.outputs,
            activation: activation)
        let (inputs, labels) = randomBatch(rows: Self.sizes.batch, columns: Self.sizes.inputs)
        let parameters = architecture.initialParameters(seed: 3)
        let rows = (0..<Int32(Self.sizes.batch)).map { $0 }[...]
        let lambda = 0.3

        // When the engine takes one step with momentum from zero velocity
        let network = Network(
            architecture: architecture, parameters: parameters, maxBatchSize: Self.sizes.batch)
        network.train(
            rows: rows, of: inputs, labels: labels, learningRate: 0.01, momentum: 0.9,
            weightDecay: Float(lambda))
        let applied = network.velocity

        // Then every block agrees with finite differences of loss + ½λ‖W‖²
        var numeric = finiteDifferenceGradient(
            architecture: architecture, parameters: parameters, inputs: inputs, labels: labels)
        for l in 0..<architecture.layerCount {
            let layer = architecture.layout(ofLayer: l)
            // d(½λ‖W‖²)/dw = λw, exactly: the penalty is quadratic.
            for k in layer.weightOffset..<layer.biasOffset {
                numeric[k] += lambda * Double(parameters[k])
            }
            let blocks = [
                ("dW\(l + 1)", layer.weightOffset..<layer.biasOffset),
                ("db\(l + 1)", layer.biasOffset..<layer.biasOffset + layer.fanOut),
            ]
            for (name, range) in blocks {
                let error = maxRelativeError(Array(applied[range]), Array(numeric[range]))
                #expect(error < 1e-3, "\(name) with weight decay: max relative error \(error)")
            }
        }
        // And the decay term is a real part of the weights' gradient (the check can fail)
        let plain = Network(
            architecture: architecture, parameters: parameters, maxBatchSize: Self.sizes.batch
        ).gradient(rows: rows, of: inputs, labels: labels).gradient
        let first = architecture.layout(ofLayer: 0)
        let range = first.weightOffset..<first.biasOffset
        #expect(maxRelativeError(Array(plain[range]), Array(numeric[range])) > 1e-2)
    }

    /// Relative error per entry, with an absolute floor so that near-zero gradients (a dead
    /// ReLU, a saturated sigmoid) do not divide by nothing; NaN if any entry is NaN.
    func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .nan }
        return largest(
            zip(a, b).map { abs(Double($0) - $1) / max(abs(Double($0)) + abs($1), 1e-4) })
    }

    func finiteDifferenceGradient(
        architecture: Architecture, parameters: [Float], inputs: SparseRows, labels: [UInt8]
    ) -> [Double] {
        let reference = parameters.map(Double.init)
        let h = 1e-5
        return reference.indices.map { k in
            var plus = reference
            var minus = reference
            plus[k] += h
            minus[k] -= h
            let lossPlus = DoubleMLP(architecture, plus).meanLoss(inputs, labels)
            let lossMinus = DoubleMLP(architecture, minus).meanLoss(inputs, labels)
            return (lossPlus - lossMinus) / (2 * h)
        }
    }
}

/// A batch of rows with about half the inputs exactly zero, as in MNIST.
func randomBatch(rows: Int, columns: Int, classes: Int = 4, seed: UInt64 = 11)
    -> (SparseRows, [UInt8])
{
    var generator = SplitMix64(seed: seed)
    let dense = (0..<rows * columns).map { _ -> Float in
        let u = generator.nextUnitFloat()
        return u < 0.5 ? 0 : u
    }
    let labels = (0..<rows).map { _ in UInt8(generator.next(below: UInt64(classes))) }
    return (SparseRows(dense: dense, rowCount: rows, columnCount: columns), labels)
}
