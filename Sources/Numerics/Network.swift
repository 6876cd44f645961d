import CKernels

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Loss and accuracy summed over the samples of one or more batches.
public struct BatchStats: Equatable, Sendable {
    public var lossSum: Double = 0
    public var correct: Int = 0
    public var count: Int = 0

    public init() {}

    public var meanLoss: Double { count == 0 ? .nan : lossSum / Double(count) }
    public var accuracy: Double { count == 0 ? .nan : Double(correct) / Double(count) }

    public static func += (lhs: inout BatchStats, rhs: BatchStats) {
        lhs.lossSum += rhs.lossSum
        lhs.correct += rhs.correct
        lhs.count += rhs.count
    }
}

/// A multilayer perceptron with its parameters, momentum buffer and preallocated workspaces:
/// nothing is allocated inside `train`, so an epoch is a loop of kernel calls.
///
/// Inputs are sparse rows (see `SparseRows`); a batch is a list of row indices into them, so the
/// per-epoch shuffle never copies images.
public final class Network {
    public let architecture: Architecture
    public let maxBatchSize: Int
    /// All weights and biases, laid out as `Architecture` documents.
    public private(set) var parameters: [Float]
    /// SGD momentum buffer `v` (same layout), updated as `v = μv + g`, `w -= lr·v`.
    public private(set) var velocity: [Float]

    private var gradient: [Float]
    /// activations[l] is the output of layer l (B, size[l+1]): post-activation for hidden
    /// layers, softmax probabilities for the last.
    private var activations: [[Float]]
    /// deltas[l] is dLoss/d(pre-activation of layer l), (B, size[l+1]).
    private var deltas: [[Float]]
    private var labelScratch: [Int]

    public init(
        architecture: Architecture, parameters: [Float], velocity: [Float]? = nil,
        maxBatchSize: Int
    ) {
        precondition(parameters.count == architecture.parameterCount, "parameter count mismatch")
        precondition(velocity == nil || velocity!.count == parameters.count)
        precondition(maxBatchSize > 0)
        self.architecture = architecture
        self.maxBatchSize = maxBatchSize
        self.parameters = parameters
        self.velocity = velocity ?? [Float](repeating: 0, count: parameters.count)
        gradient = [Float](repeating: 0, count: parameters.count)
        let widths = architecture.layerSizes.dropFirst()
        activations = widths.map { [Float](repeating: 0, count: maxBatchSize * $0) }
        deltas = widths.map { [Float](repeating: 0, count: maxBatchSize * $0) }
        labelScratch = [Int](repeating: 0, count: maxBatchSize)
    }

    /// The instruction set the kernels use on this CPU; recorded with every run because FMA
    /// widths must match for a resumed run to continue bit for bit.
    public static var kernelPath: String { String(cString: mnl_kernel_path()) }

    // MARK: - Training

    /// One SGD step on the batch `rows` of `inputs`: forward, backward, update.
    @discardableResult
    public func train(
        rows: ArraySlice<Int32>, of inputs: SparseRows, labels: [UInt8],
        learningRate: Float, momentum: Float = 0
    ) -> BatchStats {
        let stats = computeGradient(rows: rows, of: inputs, labels: labels)
        applyGradient(learningRate: learningRate, momentum: momentum)
        return stats
    }

    /// Loss and accuracy of the current parameters over every row of `inputs`.
    public func evaluate(_ inputs: SparseRows, labels: [UInt8]) -> BatchStats {
        var total = BatchStats()
        let all = (0..<inputs.rowCount).map { Int32($0) }
        var start = 0
        while start < all.count {
            let end = min(start + maxBatchSize, all.count)
            total += forward(rows: all[start..<end], of: inputs, labels: labels, wantGradient: false)
            start = end
        }
        return total
    }

    /// The batch-mean gradient of the loss at the current parameters (same layout as
    /// `parameters`), without updating them. Used by the gradient check.
    public func gradient(rows: ArraySlice<Int32>, of inputs: SparseRows, labels: [UInt8])
        -> (stats: BatchStats, gradient: [Float])
    {
        let stats = computeGradient(rows: rows, of: inputs, labels: labels)
        return (stats, gradient)
    }

    // MARK: - Forward and backward

    private func computeGradient(rows: ArraySlice<Int32>, of inputs: SparseRows, labels: [UInt8])
        -> BatchStats
    {
        let stats = forward(rows: rows, of: inputs, labels: labels, wantGradient: true)
        backward(rows: rows, of: inputs)
        return stats
    }

    /// Runs the batch through the network; with `wantGradient`, also leaves the output layer's
    /// delta (scaled by 1/B) in `deltas.last`.
    private func forward(
        rows: ArraySlice<Int32>, of inputs: SparseRows, labels: [UInt8], wantGradient: Bool
    ) -> BatchStats {
        let B = rows.count
        precondition(B > 0 && B <= maxBatchSize, "batch size out of range")
        precondition(inputs.columnCount == architecture.inputs, "input width mismatch")
        let L = architecture.layerCount
        for l in 0..<L {
            let layer = architecture.layout(ofLayer: l)
            parameters.withUnsafeBufferPointer { p in
                let weight = p.baseAddress! + layer.weightOffset
                let bias = p.baseAddress! + layer.biasOffset
                if l == 0 {
                    withCSR(inputs) { x in
                        rows.withUnsafeBufferPointer { r in
                            mnl_sparse_linear_forward(
                                &activations[0], x, r.baseAddress!, Int32(B), weight, bias,
                                Int32(layer.fanOut))
                        }
                    }
                } else {
                    mnl_linear_forward(
                        &activations[l], activations[l - 1], weight, bias, Int32(B),
                        Int32(layer.fanIn), Int32(layer.fanOut))
                }
            }
            if l < L - 1 { activate(layer: l, count: B * layer.fanOut) }
        }
        for (b, row) in rows.enumerated() { labelScratch[b] = Int(labels[Int(row)]) }
        return softmaxLoss(B: B, wantGradient: wantGradient)
    }

    private func activate(layer l: Int, count: Int) {
        switch architecture.activation {
        case .sigmoid:
            mnl_sigmoid_forward(&activations[l], Int32(count))
        case .relu:
            for k in 0..<count { activations[l][k] = max(activations[l][k], 0) }
        case .leakyRelu:
            for k in 0..<count where activations[l][k] <= 0 {
                activations[l][k] *= Activation.leakySlope
            }
        }
    }

    /// Softmax in place on the last layer's logits, the summed loss and the correct count;
    /// dLoss/dlogits / B into `deltas.last`.
    private func softmaxLoss(B: Int, wantGradient: Bool) -> BatchStats {
        let O = architecture.outputs
        let last = architecture.layerCount - 1
        let scale = 1 / Float(B)
        var stats = BatchStats()
        stats.count = B
        activations[last].withUnsafeMutableBufferPointer { p in
            deltas[last].withUnsafeMutableBufferPointer { d in
                for b in 0..<B {
                    let row = p.baseAddress! + b * O
                    let label = labelScratch[b]
                    var peak = row[0]
                    var argmax = 0
                    for o in 1..<O where row[o] > peak {
                        peak = row[o]
                        argmax = o
                    }
                    if argmax == label { stats.correct += 1 }
                    var sum: Float = 0
                    for o in 0..<O {
                        row[o] = expf(row[o] - peak)
                        sum += row[o]
                    }
                    for o in 0..<O { row[o] /= sum }
                    let dRow = d.baseAddress! + b * O
                    switch architecture.loss {
                    case .crossEntropy:
                        stats.lossSum -= Double(logf(max(row[label], .leastNormalMagnitude)))
                        guard wantGradient else { continue }
                        for o in 0..<O { dRow[o] = row[o] * scale }
                        dRow[label] = (row[label] - 1) * scale
                    case .mse:
                        // dL/dz_i = p_i (e_i − Σ_j e_j p_j), e = p − t: MSE through softmax.
                        var squares: Float = 0
                        var ep: Float = 0
                        for o in 0..<O {
                            let e = row[o] - (o == label ? 1 : 0)
                            squares += e * e
                            ep += e * row[o]
                        }
                        stats.lossSum += Double(squares / 2)
                        guard wantGradient else { continue }
                        for o in 0..<O {
                            let e = row[o] - (o == label ? 1 : 0)
                            dRow[o] = row[o] * (e - ep) * scale
                        }
                    }
                }
            }
        }
        return stats
    }

    /// Fills `gradient` from the deltas the forward pass left.
    private func backward(rows: ArraySlice<Int32>, of inputs: SparseRows) {
        let B = rows.count
        for k in gradient.indices { gradient[k] = 0 }
        var l = architecture.layerCount - 1
        while l >= 0 {
            let layer = architecture.layout(ofLayer: l)
            let O = layer.fanOut
            gradient.withUnsafeMutableBufferPointer { g in
                let dweight = g.baseAddress! + layer.weightOffset
                let dbias = g.baseAddress! + layer.biasOffset
                mnl_bias_backward(dbias, deltas[l], Int32(B), Int32(O), 0, Int32(O))
                if l == 0 {
                    withCSR(inputs) { x in
                        rows.withUnsafeBufferPointer { r in
                            mnl_sparse_linear_backward_weight(
                                dweight, x, r.baseAddress!, Int32(B), deltas[0], Int32(O), 0,
                                Int32(layer.fanIn))
                        }
                    }
                } else {
                    mnl_linear_backward_weight(
                        dweight, activations[l - 1], deltas[l], Int32(B), Int32(layer.fanIn),
                        Int32(O), 0, Int32(layer.fanIn))
                }
            }
            if l > 0 {
                parameters.withUnsafeBufferPointer { p in
                    mnl_linear_backward_input(
                        &deltas[l - 1], deltas[l], p.baseAddress! + layer.weightOffset,
                        Int32(B), Int32(layer.fanIn), Int32(O))
                }
                activationBackward(layer: l - 1, count: B * layer.fanIn)
            }
            l -= 1
        }
    }

    /// deltas[l] *= f'(z), from the activation's output.
    private func activationBackward(layer l: Int, count: Int) {
        let activation = architecture.activation
        for k in 0..<count {
            let a = activations[l][k]
            switch activation {
            case .sigmoid: deltas[l][k] *= a * (1 - a)
            case .relu: if a <= 0 { deltas[l][k] = 0 }
            case .leakyRelu: if a <= 0 { deltas[l][k] *= Activation.leakySlope }
            }
        }
    }

    // MARK: - SGD

    private func applyGradient(learningRate: Float, momentum: Float) {
        if momentum == 0 {
            for k in parameters.indices { parameters[k] -= learningRate * gradient[k] }
        } else {
            for k in parameters.indices {
                velocity[k] = momentum * velocity[k] + gradient[k]
                parameters[k] -= learningRate * velocity[k]
            }
        }
    }
}

private func withCSR<R>(_ x: SparseRows, _ body: (mnl_csr) -> R) -> R {
    x.rowStart.withUnsafeBufferPointer { start in
        x.column.withUnsafeBufferPointer { column in
            x.value.withUnsafeBufferPointer { value in
                body(mnl_csr(row_start: start.baseAddress, column: column.baseAddress, value: value.baseAddress))
            }
        }
    }
}
