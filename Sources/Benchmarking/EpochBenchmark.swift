// The engine's epoch, timed for `mnistlab bench` (see Benchmarks/README.md): the measuring
// code lives here, beside the command, rather than in Numerics, which only computes.
import CKernels
import Numerics

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Seconds per epoch of the training loop, for `mnistlab bench` and BENCHMARKS.md.
public struct EpochBenchmark: Sendable {
    public var kernelPath: String
    /// Threads per parallel region (see `Network`); results do not depend on it.
    public var threads: Int
    public var architecture: Architecture
    public var batchSize: Int
    public var trainSamples: Int
    public var validationSamples: Int
    /// Wall time of each measured epoch's training steps (the shuffle is made beforehand).
    public var trainSeconds: [Double]
    /// Wall time of evaluating the validation set after each measured epoch.
    public var evaluateSeconds: [Double]
    /// CPU time the process used during each measured epoch's training steps. With one thread
    /// this is the work itself and barely moves when other processes load the machine (no SMT
    /// here), so it compares variants where wall time cannot; with more threads it also counts
    /// the workers' spinning.
    public var trainCPUSeconds: [Double] = []
    /// FLOPs of one training epoch as a dense implementation does them: per sample and layer,
    /// 2·I·O forward, 2·I·O for dW, and 2·I·O for the input gradient of layers after the first
    /// (multiply and add counted separately; activations, softmax and SGD not counted).
    public var denseFLOPsPerEpoch: Double
    /// The same count with the first layer's I replaced by each sample's nonzero pixels: the
    /// multiply-adds actually executed.
    public var executedFLOPsPerEpoch: Double
    /// Peak resident set size of the process so far (getrusage), in bytes.
    public var peakRSSBytes: Int
    /// Validation loss and accuracy after the last epoch (a sanity check that it trains).
    public var validation: BatchStats

    public var medianTrainSeconds: Double { median(trainSeconds) }
    public var medianEvaluateSeconds: Double { median(evaluateSeconds) }
    public var medianTrainCPUSeconds: Double { median(trainCPUSeconds) }
    /// FLOPs of one training epoch over `samples` rows holding `nonzeros` pixels in all:
    /// (dense-equivalent, executed), as `denseFLOPsPerEpoch` and `executedFLOPsPerEpoch` count.
    public static func flopsPerEpoch(
        _ architecture: Architecture, samples: Int, nonzeros: Int
    ) -> (dense: Double, executed: Double) {
        let widths = architecture.layerSizes
        let later = (1..<architecture.layerCount).reduce(0.0) {
            $0 + Double(widths[$1] * widths[$1 + 1])
        }
        let perSampleRest = 6 * later  // layers ≥ 1: forward, dW, dinp
        let dense = Double(samples) * (4 * Double(widths[0] * widths[1]) + perSampleRest)
        let executed =
            4 * Double(nonzeros) * Double(widths[1]) + Double(samples) * perSampleRest
        return (dense, executed)
    }

    /// Dense-equivalent GFLOP/s at the median epoch.
    public var denseGFLOPS: Double { denseFLOPsPerEpoch / medianTrainSeconds / 1e9 }
    /// Executed GFLOP/s at the median epoch.
    public var executedGFLOPS: Double { executedFLOPsPerEpoch / medianTrainSeconds / 1e9 }

    /// One line of JSON with the figures above (seconds, GFLOP/s, MB).
    public var json: String {
        func number(_ x: Double) -> String {
            let scaled = (x * 1e6).rounded() / 1e6
            return "\(scaled)"
        }
        let fields: [(String, String)] = [
            ("kernel_path", "\"\(kernelPath)\""), ("threads", "\(threads)"),
            ("layers", "\"\(architecture.layerSizes.map(String.init).joined(separator: "-"))\""),
            ("batch_size", "\(batchSize)"), ("train_samples", "\(trainSamples)"),
            ("validation_samples", "\(validationSamples)"), ("epochs", "\(trainSeconds.count)"),
            ("median_train_seconds", number(medianTrainSeconds)),
            ("median_evaluate_seconds", number(medianEvaluateSeconds)),
            ("median_train_cpu_seconds", number(medianTrainCPUSeconds)),
            ("train_seconds", "[\(trainSeconds.map(number).joined(separator: ", "))]"),
            ("dense_gflop_per_epoch", number(denseFLOPsPerEpoch / 1e9)),
            ("executed_gflop_per_epoch", number(executedFLOPsPerEpoch / 1e9)),
            ("dense_gflops", number(denseGFLOPS)), ("executed_gflops", number(executedGFLOPS)),
            ("peak_rss_mb", number(Double(peakRSSBytes) / 1_048_576)),
            ("validation_accuracy", number(validation.accuracy)),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}

/// Trains `architecture` from `seed` for one warm-up epoch and then `epochs` measured ones
/// (plain SGD, each epoch shuffled as `epochOrder` does), evaluating `validation` after each.
/// The engine runs on its default threads and kernel path (MNISTLAB_THREADS, MNISTLAB_KERNELS).
public func benchmarkEpochs(
    architecture: Architecture = Architecture(), train: SparseRows, trainLabels: [UInt8],
    validation: SparseRows, validationLabels: [UInt8], epochs: Int = 5, batchSize: Int = 200,
    learningRate: Float = 0.1, momentum: Float = 0, seed: UInt64 = 1
) -> EpochBenchmark {
    precondition(epochs >= 1 && batchSize >= 1)
    let network = Network(
        architecture: architecture, parameters: architecture.initialParameters(seed: seed),
        maxBatchSize: batchSize)
    var trainSeconds: [Double] = []
    var evaluateSeconds: [Double] = []
    var trainCPUSeconds: [Double] = []
    var validationStats = BatchStats()
    for epoch in 0...epochs {
        let order = epochOrder(seed: seed, epoch: epoch + 1, count: train.rowCount)
        let start = monotonicSeconds()
        let startCPU = processCPUSeconds()
        var first = 0
        while first < order.count {
            let last = min(first + batchSize, order.count)
            network.train(
                rows: order[first..<last], of: train, labels: trainLabels,
                learningRate: learningRate, momentum: momentum)
            first = last
        }
        let trained = monotonicSeconds()
        let trainedCPU = processCPUSeconds()
        validationStats = network.evaluate(validation, labels: validationLabels)
        let evaluated = monotonicSeconds()
        if epoch > 0 {
            trainSeconds.append(trained - start)
            evaluateSeconds.append(evaluated - trained)
            trainCPUSeconds.append(trainedCPU - startCPU)
        }
    }

    let flops = EpochBenchmark.flopsPerEpoch(
        architecture, samples: train.rowCount, nonzeros: train.value.count)
    var usage = rusage()
    #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peak = Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
    #else
        getrusage(RUSAGE_SELF, &usage)
        let peak = Int(usage.ru_maxrss)  // bytes on Darwin
    #endif
    return EpochBenchmark(
        kernelPath: Network.kernelPath, threads: Int(mnl_threads()), architecture: architecture,
        batchSize: batchSize, trainSamples: train.rowCount, validationSamples: validation.rowCount,
        trainSeconds: trainSeconds, evaluateSeconds: evaluateSeconds,
        trainCPUSeconds: trainCPUSeconds, denseFLOPsPerEpoch: flops.dense,
        executedFLOPsPerEpoch: flops.executed, peakRSSBytes: peak, validation: validationStats)
}

private func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

private func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The middle value (the mean of the two middle ones for an even count); NaN when empty.
public func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let sorted = xs.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
