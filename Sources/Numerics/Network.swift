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
/// nothing is allocated inside `train` or `evaluate`, so an epoch is a loop of kernel calls.
///
/// Inputs are sparse rows (see `SparseRows`); a batch is a list of row indices into them, so the
/// per-epoch shuffle never copies images.
///
/// A step runs in C (CKernels' `mnl_mlp_forward` / `mnl_mlp_backward`) on a persistent thread
/// pool, in two parallel regions, each a fixed list of chunks (blocks of samples, then blocks of
/// weight rows) that threads claim as they come: results are the same bits for any thread
/// count, any scheduling and every kernel path (scalar, AVX2, AVX-512).
public final class Network {
    public let architecture: Architecture
    public let maxBatchSize: Int
    /// All weights and biases, laid out as `Architecture` documents.
    public private(set) var parameters: [Float]
    /// SGD momentum buffer `v` (same layout), updated as `v = μv + g`, `w -= lr·v`; with
    /// weight decay λ, weights use `g + λw` for `g` (biases never decay).
    public private(set) var velocity: [Float]

    /// Threads per parallel region; 0 means CKernels' default (`MNISTLAB_THREADS`, else the
    /// online CPUs up to 4). Results do not depend on it.
    var threads = 0
    /// The kernel path; nil means the active one (`MNISTLAB_KERNELS`, else the widest here).
    /// Results do not depend on it.
    var kernels: UnsafePointer<mnl_kernels>?

    private var gradient: [Float]
    private let sizes: UnsafeMutableBufferPointer<Int32>
    /// activations[l] is the output of layer l (B, size[l+1]): post-activation for hidden
    /// layers, softmax probabilities for the last. deltas[l] is dLoss/d(pre-activation of
    /// layer l), same shape. Both point into `workspace`.
    private let activations: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>?>
    private let deltas: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>?>
    private let workspace: UnsafeMutableBufferPointer<Float>
    /// Transposed weights of layers ≥ 1, for the backward-input kernel.
    private let transposedWeights: UnsafeMutableBufferPointer<Float>
    private let sampleLoss: UnsafeMutableBufferPointer<Float>
    private let predicted: UnsafeMutableBufferPointer<Int32>
    private let rowScratch: UnsafeMutableBufferPointer<Int32>
    /// Where the forward pass regroups each batch's pixels by column (`mnl_columns`) for the
    /// first layer's weight-gradient kernel.
    private let sparseScratch: UnsafeMutableRawPointer

    public init(
        architecture: Architecture, parameters: [Float], velocity: [Float]? = nil,
        maxBatchSize: Int
    ) {
        precondition(parameters.count == architecture.parameterCount, "parameter count mismatch")
        precondition(velocity == nil || velocity!.count == parameters.count)
        precondition(maxBatchSize > 0)
        precondition(architecture.inputs <= Int(UInt16.max) + 1, "too many inputs")
        self.architecture = architecture
        self.maxBatchSize = maxBatchSize
        self.parameters = parameters
        self.velocity = velocity ?? [Float](repeating: 0, count: parameters.count)
        gradient = [Float](repeating: 0, count: parameters.count)

        let widths = architecture.layerSizes
        sizes = .allocate(capacity: widths.count)
        for (k, w) in widths.enumerated() { sizes[k] = Int32(w) }
        let L = architecture.layerCount
        let perLayer = widths.dropFirst().map { maxBatchSize * $0 }
        workspace = .allocate(capacity: 2 * perLayer.reduce(0, +))
        workspace.initialize(repeating: 0)
        activations = .allocate(capacity: L)
        deltas = .allocate(capacity: L)
        var offset = 0
        for l in 0..<L {
            activations[l] = workspace.baseAddress! + offset
            deltas[l] = workspace.baseAddress! + offset + perLayer[l]
            offset += 2 * perLayer[l]
        }
        let transposedCount = (1..<max(L, 1)).reduce(0) { $0 + widths[$1] * widths[$1 + 1] }
        transposedWeights = .allocate(capacity: max(transposedCount, 1))
        transposedWeights.initialize(repeating: 0)
        sampleLoss = .allocate(capacity: maxBatchSize)
        sampleLoss.initialize(repeating: 0)
        predicted = .allocate(capacity: maxBatchSize)
        predicted.initialize(repeating: 0)
        rowScratch = .allocate(capacity: maxBatchSize)
        rowScratch.initialize(repeating: 0)
        sparseScratch = .allocate(
            byteCount: Int(mnl_mlp_scratch_bytes(Int32(maxBatchSize), Int32(widths[0]))),
            alignment: 64)
    }

    deinit {
        sizes.deallocate()
        activations.deallocate()
        deltas.deallocate()
        workspace.deallocate()
        transposedWeights.deallocate()
        sampleLoss.deallocate()
        predicted.deallocate()
        rowScratch.deallocate()
        sparseScratch.deallocate()
    }

    /// The instruction set the kernels use on this CPU ("avx512", "avx2" or "scalar"). Every
    /// path computes the same bits, so it is informational.
    public static var kernelPath: String { String(cString: mnl_kernel_path()) }

    // MARK: - Training

    /// One SGD step on the batch `rows` of `inputs`: forward, backward, update. `weightDecay`
    /// λ adds λ·w to each weight's gradient (L2 regularisation of ½λ‖W‖²; biases are not
    /// decayed) before momentum; 0 is exactly the update without decay.
    @discardableResult
    public func train(
        rows: ArraySlice<Int32>, of inputs: SparseRows, labels: [UInt8],
        learningRate: Float, momentum: Float = 0, weightDecay: Float = 0
    ) -> BatchStats {
        rows.withUnsafeBufferPointer { r in
            step(
                r, inputs, labels, wantGradient: true, update: true, learningRate, momentum,
                weightDecay)
        }
    }

    /// Loss and accuracy of the current parameters over every row of `inputs`.
    public func evaluate(_ inputs: SparseRows, labels: [UInt8]) -> BatchStats {
        var total = BatchStats()
        forEachBatch(of: inputs) { rows in
            total += step(rows, inputs, labels, wantGradient: false, update: false, 0, 0)
        }
        return total
    }

    /// The predicted class (the most probable output) of every row of `inputs`, through the
    /// same batched forward pass as `evaluate`.
    public func predict(_ inputs: SparseRows) -> [UInt8] {
        let placeholder = [UInt8](repeating: 0, count: inputs.rowCount)
        var classes: [UInt8] = []
        classes.reserveCapacity(inputs.rowCount)
        forEachBatch(of: inputs) { rows in
            step(rows, inputs, placeholder, wantGradient: false, update: false, 0, 0)
            for b in rows.indices { classes.append(UInt8(predicted[b])) }
        }
        return classes
    }

    /// The softmax output (the class probabilities) and predicted class of every row of
    /// `inputs`, through the same batched forward pass as `predict`.
    public func classify(_ inputs: SparseRows) -> [(label: UInt8, probabilities: [Float])] {
        let placeholder = [UInt8](repeating: 0, count: inputs.rowCount)
        let outputs = architecture.outputs
        var results: [(label: UInt8, probabilities: [Float])] = []
        results.reserveCapacity(inputs.rowCount)
        forEachBatch(of: inputs) { rows in
            step(rows, inputs, placeholder, wantGradient: false, update: false, 0, 0)
            guard let probabilities = activations[architecture.layerCount - 1] else { return }
            for b in rows.indices {
                let row = UnsafeBufferPointer(start: probabilities + b * outputs, count: outputs)
                results.append((UInt8(predicted[b]), Array(row)))
            }
        }
        return results
    }

    /// Calls `body` with consecutive batches of at most `maxBatchSize` row indices covering
    /// every row of `inputs`.
    private func forEachBatch(of inputs: SparseRows, _ body: (UnsafeBufferPointer<Int32>) -> Void) {
        var start = 0
        while start < inputs.rowCount {
            let count = min(maxBatchSize, inputs.rowCount - start)
            for b in 0..<count { rowScratch[b] = Int32(start + b) }
            body(UnsafeBufferPointer(rebasing: rowScratch[0..<count]))
            start += count
        }
    }

    /// The batch-mean gradient of the loss at the current parameters (same layout as
    /// `parameters`), without updating them. Used by the gradient check.
    public func gradient(rows: ArraySlice<Int32>, of inputs: SparseRows, labels: [UInt8])
        -> (stats: BatchStats, gradient: [Float])
    {
        let stats = rows.withUnsafeBufferPointer { r in
            step(r, inputs, labels, wantGradient: true, update: false, 0, 0)
        }
        return (stats, gradient)
    }

    // MARK: - Step

    /// Forward (and with `wantGradient`, backward; with `update`, the SGD step) on one batch.
    @discardableResult
    private func step(
        _ rows: UnsafeBufferPointer<Int32>, _ inputs: SparseRows, _ labels: [UInt8],
        wantGradient: Bool, update: Bool, _ learningRate: Float, _ momentum: Float,
        _ weightDecay: Float = 0
    ) -> BatchStats {
        let B = rows.count
        precondition(B > 0 && B <= maxBatchSize, "batch size out of range")
        precondition(inputs.columnCount == architecture.inputs, "input width mismatch")
        precondition(labels.count >= inputs.rowCount, "fewer labels than rows")
        let outputs = architecture.outputs
        for row in rows {
            precondition(row >= 0 && Int(row) < inputs.rowCount, "row index out of range")
            precondition(Int(labels[Int(row)]) < outputs, "label out of range")
        }
        parameters.withUnsafeMutableBufferPointer { p in
            velocity.withUnsafeMutableBufferPointer { v in
                gradient.withUnsafeMutableBufferPointer { g in
                    var net = mnl_mlp(
                        kernels: kernels, threads: Int32(threads),
                        layers: Int32(architecture.layerCount), sizes: sizes.baseAddress,
                        activation: architecture.activation.kernelCode,
                        leaky_slope: Activation.leakySlope,
                        loss: architecture.loss.kernelCode, params: p.baseAddress,
                        grad: g.baseAddress, velocity: v.baseAddress,
                        act: activations.baseAddress, delta: deltas.baseAddress,
                        weight_t: transposedWeights.baseAddress, scratch: sparseScratch)
                    withCSR(inputs) { x in
                        labels.withUnsafeBufferPointer { l in
                            mnl_mlp_forward(
                                &net, x, rows.baseAddress, Int32(B), l.baseAddress,
                                wantGradient ? 1 : 0, sampleLoss.baseAddress,
                                predicted.baseAddress)
                        }
                        if wantGradient {
                            mnl_mlp_backward(
                                &net, x, rows.baseAddress, Int32(B), update ? 1 : 0,
                                learningRate, momentum, weightDecay)
                        }
                    }
                }
            }
        }
        // Summed in sample order, so the total does not depend on the thread split.
        var stats = BatchStats()
        stats.count = B
        for b in 0..<B {
            stats.lossSum += Double(sampleLoss[b])
            if Int(predicted[b]) == Int(labels[Int(rows[b])]) { stats.correct += 1 }
        }
        return stats
    }
}

extension Activation {
    var kernelCode: Int32 {
        switch self {
        case .sigmoid: Int32(MNL_SIGMOID)
        case .relu: Int32(MNL_RELU)
        case .leakyRelu: Int32(MNL_LEAKY_RELU)
        }
    }
}

extension Loss {
    var kernelCode: Int32 {
        switch self {
        case .crossEntropy: Int32(MNL_CROSS_ENTROPY)
        case .mse: Int32(MNL_MSE)
        }
    }
}

func withCSR<R>(_ x: SparseRows, _ body: (mnl_csr) -> R) -> R {
    x.rowStart.withUnsafeBufferPointer { start in
        x.column.withUnsafeBufferPointer { column in
            x.value.withUnsafeBufferPointer { value in
                body(
                    mnl_csr(
                        row_start: start.baseAddress, column: column.baseAddress,
                        value: value.baseAddress))
            }
        }
    }
}
