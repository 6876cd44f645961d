import ArgumentParser
import Benchmarking
import Datasets
import Foundation
import Numerics
import Store
import Training

extension MNISTLab {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time training epochs, the store and the same epoch in numpy, side by side.",
            discussion: """
                Trains the seed configuration (784-100-10 sigmoid, batch 200, 50k train + 10k \
                validation) for one warm-up and --epochs measured epochs and prints the median \
                seconds per epoch, the matmul GFLOP/s, the store's time per epoch and peak RSS. \
                Then it runs Benchmarks/numpy_epoch.py on the same data in the same session and \
                prints the speed-up; that needs python3 with numpy, which bench does not install \
                (without it, bench says so and skips the baseline). Timings on a shared machine \
                are noisy: compare only within one run. See BENCHMARKS.md.

                Examples:
                  mnistlab bench
                  mnistlab bench --hidden 256,128 --activation relu --epochs 3
                  MNISTLAB_THREADS=1 mnistlab bench --no-numpy --json
                """)

        @Option(name: .long, parsing: .unconditional, help: "Measured epochs (after one warm-up).")
        var epochs = 5

        @Option(name: .long, help: "Hidden layer widths, e.g. 100 or 256,128.")
        var hidden = "100"

        @Option(name: .long, help: "Hidden activation.")
        var activation = Activation.sigmoid

        @Option(name: .long, help: "Directory with the four MNIST IDX files.")
        var data: String?

        @Option(name: .long, help: "The numpy baseline script (default: Benchmarks/numpy_epoch.py, here or in a folder above the binary).")
        var numpyScript: String?

        @Flag(name: .long, help: "Skip the numpy baseline.")
        var noNumpy = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Measure the store in this database (an SQLite file or a postgres:// URL) rather than a scratch SQLite file; the benchmark's runs are removed afterwards.",
                valueName: "path-or-url"))
        var db: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            try Check.notEmpty(data, "--data")
            try Check.notEmpty(db, "--db")
            if epochs < 1 { throw ValidationError("Epochs must be at least 1; got \(epochs).") }
            if Hyperparameters.parseHidden(hidden) == nil {
                throw ValidationError("Hidden widths must be positive integers separated by commas; got '\(hidden)'.")
            }
        }

        func run() throws {
            let directory = try DataLocation.resolve(data)
            // Loaded once, for the engine's epochs and the recorded session's.
            let prepared = try DataSource(directory: directory, validationSize: Defaults.validationSize)
                .prepare()
            let architecture = Architecture(
                hidden: Hyperparameters.parseHidden(hidden) ?? [100], activation: activation)
            let engine = benchmarkEpochs(
                architecture: architecture, train: prepared.train.images,
                trainLabels: prepared.train.labels, validation: prepared.validation.images,
                validationLabels: prepared.validation.labels, epochs: epochs)
            let store = try measureStore(
                directory: directory, data: prepared, parameterCount: architecture.parameterCount)
            let numpy = noNumpy ? nil : numpyBaseline(directory: directory)
            let report = BenchReport(engine: engine, store: store, numpy: numpy)
            if output.json { return try printJSON(report) }
            print(report.text)
        }

        /// What recording costs, in a scratch database (or in `--db`, whose benchmark runs
        /// are removed after): the median synchronous `recordEpoch` with a checkpoint of this
        /// size, and the median wall time per epoch of a real `train` session (training,
        /// validation and recording, as users run it) to compare with the engine's epoch,
        /// since the commit overlaps the next epoch's training.
        func measureStore(
            directory: String, data prepared: PreparedData, parameterCount: Int
        ) throws -> StoreCost {
            let scratch = FileManager.default.temporaryDirectory
                .appendingPathComponent("mnistlab-bench-\(getpid())")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let store = try Store.open(
                location: db ?? scratch.appendingPathComponent("bench.sqlite").path)
            defer { try? store.close() }
            var benchmarkRuns: [Int64] = []
            defer { if db != nil { _ = try? store.removeRuns(benchmarkRuns, withForks: false) } }

            var h = Defaults.hyperparameters
            h.hidden = Hyperparameters.parseHidden(hidden) ?? Defaults.hyperparameters.hidden
            h.activation = activation
            h.epochs = epochs + 1
            var events = SessionEvents()
            var epochEnds: [Double] = []
            events.epoch = { _, _ in epochEnds.append(monotonicSeconds()) }
            let session = try Session(store: store, events: events).train(
                h,
                data: prepared,
                name: "bench", keepEvery: Defaults.keepEvery)
            benchmarkRuns.append(session.runID)
            let recorded = zip(epochEnds.dropFirst(), epochEnds).map { $0 - $1 }

            let seed = Defaults.hyperparameters
            let (run, lease) = try store.createRun(
                NewRun(
                    name: "bench", learningRate: seed.learningRate, batchSize: seed.batchSize,
                    epochs: seed.epochs, hidden: hidden, activation: activation.rawValue,
                    loss: seed.loss.rawValue, seed: Int64(bitPattern: seed.seed),
                    trainSize: 60_000 - Defaults.validationSize, valSize: Defaults.validationSize,
                    datasetPath: directory, datasetChecksum: "-", codeVersion: MNISTLabVersion.current,
                    kernelPath: Network.kernelPath, keepEvery: Defaults.keepEvery),
                leaseSeconds: Timeouts.lease)
            benchmarkRuns.append(run.id)
            var weights = [Float](repeating: 0.25, count: parameterCount)
            var commits: [Double] = []
            for epoch in 1...60 {
                weights[epoch % parameterCount] += 1
                let started = monotonicSeconds()
                try store.recordEpoch(
                    EpochRecord(
                        runID: run.id, epoch: epoch, trainLoss: 1 / Double(epoch),
                        trainAccuracy: 0.9, valLoss: 1 / Double(epoch), valAccuracy: 0.9,
                        seconds: 0.1),
                    checkpoint: CheckpointRecord(runID: run.id, epoch: epoch, weights: weights),
                    keepEvery: Defaults.keepEvery, lease: lease)
                commits.append(monotonicSeconds() - started)
            }
            try store.finishRun(lease, status: .completed)
            return StoreCost(commitSeconds: median(commits), recordedEpochSeconds: median(recorded))
        }

        /// Runs the numpy script on the same data and shape; nil (with a note) when the script,
        /// python3 or numpy is missing. Installing numpy is left to the user: bench never
        /// changes their Python environment.
        func numpyBaseline(directory: String) -> NumpyResult? {
            // Found as the data is: here, else in a folder above the binary (its clone).
            let bundled = "Benchmarks/numpy_epoch.py"
            let exists = { FileManager.default.fileExists(atPath: $0) }
            let script: String? =
                if let numpyScript { exists(numpyScript) ? numpyScript : nil } else {
                    DataLocation.repositoryPath(bundled, where: exists)
                }
            guard let script else {
                note(
                    "numpy baseline skipped: no script at \(numpyScript ?? "./\(bundled) or in a folder above the mnistlab binary") (pass --numpy-script)")
                return nil
            }
            if (try? shell(["python3", "-c", "import numpy"])) == nil {
                note("numpy baseline skipped: python3 cannot import numpy; install it (python3 -m pip install numpy) or pass --no-numpy")
                return nil
            }
            do {
                let text = try shell([
                    "python3", script, "--epochs", "\(epochs)", "--data", directory, "--hidden", hidden,
                    "--activation", activation.rawValue,
                ])
                return try JSONDecoder().decode(NumpyResult.self, from: Data(text.utf8))
            } catch {
                note("numpy baseline failed: \(error)")
                return nil
            }
        }
    }
}

private func note(_ text: String) {
    printStandardError("note: \(text)")
}

/// Runs a command and returns its standard output; throws on a non-zero exit.
/// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed: set on some machines for old OpenBLAS
/// builds, they slow a current numpy down and would make the baseline unfair.
private func shell(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_CORETYPE"] = nil
    environment["OPENBLAS_L2_SIZE"] = nil
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw MNISTLabError("\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

struct StoreCost {
    /// One epoch's metrics and checkpoint committed synchronously.
    var commitSeconds: Double
    /// One epoch of a real recorded session: training, validation and recording.
    var recordedEpochSeconds: Double
}

struct NumpyResult: Codable {
    var numpy: String
    var blas: String
    var median_train_seconds: Double
    var median_evaluate_seconds: Double
    var validation_accuracy: Double
}

private struct BenchReport: Encodable {
    var kernel_path: String
    var threads: Int
    var network: String
    var epochs: Int
    var median_train_seconds: Double
    var median_evaluate_seconds: Double
    /// Process CPU time per training epoch: with MNISTLAB_THREADS=1, the figure to compare
    /// variants with on a loaded machine.
    var median_train_cpu_seconds: Double
    var dense_gflops: Double
    var executed_gflops: Double
    var store_commit_seconds: Double
    var recorded_epoch_seconds: Double
    var recording_overhead_percent: Double
    var peak_rss_mb: Double
    var validation_accuracy: Double
    var numpy: NumpyResult?
    var speedup_vs_numpy: Double?

    init(engine: EpochBenchmark, store: StoreCost, numpy: NumpyResult?) {
        kernel_path = engine.kernelPath
        threads = engine.threads
        network = engine.architecture.layerSizes.map(String.init).joined(separator: "-") + " " + engine.architecture.activation.rawValue
        epochs = engine.trainSeconds.count
        median_train_seconds = engine.medianTrainSeconds
        median_evaluate_seconds = engine.medianEvaluateSeconds
        median_train_cpu_seconds = engine.medianTrainCPUSeconds
        dense_gflops = engine.denseGFLOPS
        executed_gflops = engine.executedGFLOPS
        let epoch = engine.medianTrainSeconds + engine.medianEvaluateSeconds
        store_commit_seconds = store.commitSeconds
        recorded_epoch_seconds = store.recordedEpochSeconds
        recording_overhead_percent = 100 * (store.recordedEpochSeconds - epoch) / epoch
        peak_rss_mb = Double(engine.peakRSSBytes) / 1_048_576
        validation_accuracy = engine.validation.accuracy
        self.numpy = numpy
        speedup_vs_numpy = numpy.map {
            ($0.median_train_seconds + $0.median_evaluate_seconds) / epoch
        }
    }

    var text: String {
        var lines = [
            "network        \(network), batch 200, 50000 train + 10000 val, \(epochs) measured epochs (medians)",
            "kernels        \(kernel_path), \(threads) threads",
            "train epoch    \(Format.fixed(median_train_seconds, digits: 4)) s   (\(Format.fixed(dense_gflops, digits: 1)) dense-equivalent GFLOP/s, \(Format.fixed(executed_gflops, digits: 1)) executed)",
            "validation     \(Format.fixed(median_evaluate_seconds, digits: 4)) s   (accuracy \(Format.percent(validation_accuracy)))",
            "store          \(Format.fixed(store_commit_seconds * 1000, digits: 2)) ms per epoch commit, on a background thread while the next epoch trains",
            "recorded epoch \(Format.fixed(recorded_epoch_seconds, digits: 4)) s in a real train session: \(Format.fixed(recording_overhead_percent, digits: 1))% over train + validation",
            "peak RSS       \(Format.fixed(peak_rss_mb, digits: 0)) MB",
        ]
        if let numpy, let speedup = speedup_vs_numpy {
            lines.append(
                "numpy          \(Format.fixed(numpy.median_train_seconds, digits: 4)) s train + \(Format.fixed(numpy.median_evaluate_seconds, digits: 4)) s validation (numpy \(numpy.numpy), \(numpy.blas))")
            lines.append("speed-up       \(Format.fixed(speedup, digits: 1))× numpy (train + validation, same session)")
        }
        return lines.joined(separator: "\n")
    }
}
