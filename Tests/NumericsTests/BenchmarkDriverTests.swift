import CKernels
import Foundation
import Testing

@testable import Numerics

/// The temporary benchmark driver until `mnistlab bench` exists (see Benchmarks/README.md).
/// Off unless MNISTLAB_BENCH is set; prints JSON lines and asserts nothing about time.
///
///     MNISTLAB_BENCH=1 swift test -c release --scratch-path .build-kernels \
///         --filter BenchmarkDriverTests
///
/// MNISTLAB_BENCH_EPOCHS (default 7) sets the measured epochs; MNISTLAB_MNIST (default
/// Data/mnist) the directory of the gzipped IDX files, which fall back to synthetic digits.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["MNISTLAB_BENCH"] != nil))
struct BenchmarkDriverTests {
    static let environment = ProcessInfo.processInfo.environment
    static let epochs = Int(environment["MNISTLAB_BENCH_EPOCHS"] ?? "") ?? 7

    /// The seed split: the first 50 000 training images train, the last 10 000 validate.
    static func data() -> (train: SparseRows, trainLabels: [UInt8], validation: SparseRows,
        validationLabels: [UInt8], source: String)
    {
        let directory = environment["MNISTLAB_MNIST"] ?? "Data/mnist"
        if let images = gunzip("\(directory)/train-images-idx3-ubyte.gz"),
            let labels = gunzip("\(directory)/train-labels-idx1-ubyte.gz"),
            images.count == 16 + 60_000 * 784, labels.count == 8 + 60_000
        {
            let pixels = [UInt8](images.dropFirst(16))
            let all = [UInt8](labels.dropFirst(8))
            // Packed straight from the bytes, as Datasets does, so no dense copy inflates the RSS.
            func rows(_ range: Range<Int>) -> SparseRows {
                var rowStart: [Int32] = [0]
                var column: [UInt16] = []
                var value: [Float] = []
                for r in range {
                    for c in 0..<784 where pixels[r * 784 + c] != 0 {
                        column.append(UInt16(c))
                        value.append(Float(pixels[r * 784 + c]) / 255)
                    }
                    rowStart.append(Int32(column.count))
                }
                return SparseRows(
                    rowCount: range.count, columnCount: 784, rowStart: rowStart, column: column,
                    value: value)
            }
            return (rows(0..<50_000), Array(all[0..<50_000]), rows(50_000..<60_000),
                Array(all[50_000..<60_000]), "MNIST \(directory)")
        }
        let (train, trainLabels) = syntheticDigits(count: 50_000, seed: 1)
        let (validation, validationLabels) = syntheticDigits(count: 10_000, seed: 2)
        return (train, trainLabels, validation, validationLabels, "synthetic")
    }

    static func gunzip(_ path: String) -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? data : nil
    }

    @Test func seedEpochs() {
        let d = Self.data()
        print("{\"data\": \"\(d.source)\", \"nonzero_fraction\": \(Double(d.train.value.count) / Double(d.train.rowCount * 784))}")
        var configurations: [(String?, Int)] = [(nil, 0), (nil, 1)]
        for path in ["avx2", "scalar"] where mnl_kernels_named(path) != nil {
            configurations.append((path, 0))
        }
        for (path, threads) in configurations {
            if let path { _ = mnl_set_kernel_path(path) }
            let result = benchmarkEpochs(
                train: d.train, trainLabels: d.trainLabels, validation: d.validation,
                validationLabels: d.validationLabels,
                epochs: path == "scalar" ? min(Self.epochs, 3) : Self.epochs, threads: threads)
            print(result.json)
        }
        _ = mnl_set_kernel_path(mnl_kernels_named("avx512") != nil ? "avx512" : "avx2")
    }

    @Test func hiddenWidths() {
        let d = Self.data()
        for hidden in [[256, 128], [300]] {
            let result = benchmarkEpochs(
                architecture: Architecture(hidden: hidden), train: d.train,
                trainLabels: d.trainLabels, validation: d.validation,
                validationLabels: d.validationLabels, epochs: min(Self.epochs, 3))
            print(result.json)
        }
    }

    /// Each kernel of a seed step alone, on one thread, over the 250 batches of an epoch:
    /// where the time goes.
    @Test func kernelProfile() {
        let d = Self.data()
        let order = epochOrder(seed: 1, epoch: 1, count: d.train.rowCount)
        let (B, I, H, O) = (200, 784, 100, 10)
        var random = SplitMix64(seed: 3)
        let w1 = randomFloats(I * H, &random)
        let b1 = randomFloats(H, &random)
        let w2 = randomFloats(H * O, &random)
        let w2t = randomFloats(O * H, &random)
        let b2 = randomFloats(O, &random)
        var hidden = [Float](repeating: 0, count: B * H)
        var out = [Float](repeating: 0, count: B * O)
        var dhidden = randomFloats(B * H, &random)
        let dout = randomFloats(B * O, &random)
        var dw1 = [Float](repeating: 0, count: I * H)
        var dw2 = [Float](repeating: 0, count: H * O)
        let columnsBuffer = UnsafeMutableRawPointer.allocate(
            byteCount: Int(mnl_columns_bytes(Int32(B), Int32(I))), alignment: 64)
        defer { columnsBuffer.deallocate() }
        let columns = mnl_columns_in(columnsBuffer, Int32(B), Int32(I))
        var params = randomFloats(79_510, &random)
        var velocity = [Float](repeating: 0, count: 79_510)
        let grad = randomFloats(79_510, &random)
        for path in ["avx512", "avx2", "scalar"] {
            guard let k = mnl_kernels_named(path)?.pointee else { continue }
            var timings: [(String, Double)] = []
            func time(_ name: String, _ body: (ArraySlice<Int32>) -> Void) {
                let start = Date()
                for batch in 0..<250 { body(order[(batch * B)..<((batch + 1) * B)]) }
                timings.append((name, Date().timeIntervalSince(start) * 1000))
            }
            withCSR(d.train) { x in
                time("forward L1 sparse 784→100") { rows in
                    rows.withUnsafeBufferPointer {
                        k.sparse_linear_forward(&hidden, x, $0.baseAddress, Int32(B), w1, b1, Int32(H))
                    }
                }
                time("sigmoid 200×100") { _ in k.sigmoid_forward(&hidden, Int32(B * H)) }
                time("forward L2 dense 100→10") { _ in
                    k.linear_forward(&out, hidden, w2, b2, Int32(B), Int32(H), Int32(O))
                }
                time("backward input 10→100") { _ in
                    k.linear_backward_input(&dhidden, dout, w2t, Int32(B), Int32(H), Int32(O))
                }
                time("sigmoid backward") { _ in k.sigmoid_backward(&dhidden, hidden, Int32(B * H)) }
                time("dW2 dense 100×10") { _ in
                    k.linear_backward_weight(&dw2, hidden, dout, Int32(B), Int32(H), Int32(O), 0, Int32(H))
                }
                time("regroup by column") { rows in
                    rows.withUnsafeBufferPointer { r in
                        for g in 0..<Int(columns.groups) {
                            mnl_columns_fill(
                                columns, Int32(g), x, r.baseAddress! + g * Int(MNL_GROUP),
                                Int32(min(Int(MNL_GROUP), B - g * Int(MNL_GROUP))))
                        }
                    }
                }
                time("dW1 sparse 784×100") { _ in
                    k.sparse_linear_backward_weight(&dw1, columns, dhidden, Int32(H), 0, Int32(I))
                }
                time("SGD update 79 510") { _ in
                    k.sgd_update(&params, &velocity, grad, 79_510, 1e-9, 0)
                }
            }
            let fields = timings.map { "\"\($0.0)\": \((($0.1) * 100).rounded() / 100)" }
            print("{\"profile_ms_per_epoch_one_thread\": \"\(path)\", " + fields.joined(separator: ", ") + "}")
        }
    }
}
