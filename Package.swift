// swift-tools-version:6.1
// MNISTLab: an experiment tracker for MLP training on MNIST, backed by SQLite.
//
// Dependencies point one way:
//   CKernels ← Numerics ← Datasets ← Training ← Sweeps ← MNISTLabCLI ← mnistlab
//                   Store (GRDB, CLibPQ) ↗ Reports ↗   (Reports also ← Sweeps: the sweep figures)
//                        Numerics ← Benchmarking ↗
//   CPNG (libpng) + Training ← Prediction ↗
//   Training ← ModelExport ↗ (and ← Server)
//   Store + Reports + Prediction ← Server; MNISTLabCLI + Server ← mnistlab-serve
import PackageDescription

let package = Package(
    name: "MNISTLab",
    products: [
        .executable(name: "mnistlab", targets: ["mnistlab"]),
        .executable(name: "mnistlab-serve", targets: ["mnistlab-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // SIMD matmul kernels in C, chosen per CPU at run time (AVX-512 / AVX2+FMA / scalar).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .target(name: "Numerics", dependencies: ["CKernels"]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Datasets", dependencies: ["Numerics", "CZlib"]),
        .systemLibrary(
            name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        // PostgreSQL's client library: its declarations only; the PostgreSQL engine loads
        // libpq itself (dlopen) when a store on a server is opened, not at every start. No
        // pkgConfig: SwiftPM would add its `-lpq` to every program's link line, and loading
        // libpq with the 23 libraries it needs took 45 ms at each start (BENCHMARKS.md);
        // shim.h finds the header where Debian's libpq-dev puts it.
        .systemLibrary(
            name: "CLibPQ", path: "Sources/CLibPQ", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "Store",
            dependencies: ["CZlib", "CLibPQ", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [.embedInCode("Migrations")]),
        .target(name: "Training", dependencies: ["Numerics", "Datasets", "Store"]),
        // Sweeps: grid and random expansion, typed trial settings, the trial state machine,
        // the retry policy and the worker loop, as values and functions the CLI calls.
        .target(name: "Sweeps", dependencies: ["Importance", "Numerics", "Store", "Training"]),
        // Self-contained HTML reports with inline SVG charts, rendered from stored runs.
        // The dashboard's script and styles are files of their own (Assets/), compiled in.
        .target(
            name: "Reports", dependencies: ["Store", "Sweeps", "Importance"], resources: [.embedInCode("Assets")]),
        // Images of digits (PNG through libpng, PGM) prepared as MNIST's and classified.
        .target(name: "Prediction", dependencies: ["CPNG", "Numerics", "Store", "Training"]),
        // A checkpoint as an ONNX model or a safetensors file (encoders written here, no
        // protobuf library), and an ONNX file it wrote read back.
        .target(name: "ModelExport", dependencies: ["Numerics", "Store", "Training"]),
        // `mnistlab serve`: the dashboard's routes, JSON API and event streams, on an HTTP/1.1
        // server of its own over POSIX sockets (see docs/layout.md).
        .target(
            name: "Server",
            dependencies: ["Datasets", "Store", "Reports", "Prediction", "Training", "ModelExport"]),
        // Which settings mattered in a sweep: fANOVA over a random forest, pure arithmetic.
        .target(name: "Importance", dependencies: ["Numerics"]),
        // The engine's epoch timed for `mnistlab bench`: measuring code kept out of Numerics.
        .target(name: "Benchmarking", dependencies: ["Numerics", "CKernels"]),
        .target(
            name: "MNISTLabCLI",
            dependencies: [
                "Training", "Store", "Datasets", "Numerics", "Reports", "Benchmarking", "Prediction",
                "ModelExport", "Sweeps",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "mnistlab", dependencies: ["MNISTLabCLI"]),
        // `mnistlab serve` becomes this program, so that only it loads the HTTP server's
        // networking libraries, not every mnistlab command.
        .executableTarget(
            name: "mnistlab-serve", dependencies: ["MNISTLabCLI", "Server"],
            path: "Sources/mnistlab-serve"),

        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "CKernels"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
        // StoreTests uses TestSupport's throwaway PostgreSQL server (PostgresServer).
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        // TrainingTests' sessions train on an excerpt of MNIST that TestSupport writes.
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TestSupport"]),
        // SweepsTests trains small sweeps in process, on SQLite and on TestSupport's
        // PostgreSQL server, and writes stores at older schemas through GRDB.
        .testTarget(
            name: "SweepsTests",
            dependencies: [
                "Sweeps", "Importance", "Store", "Training", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Sweeps", "Store", "Training"]),
        // The HTTP server's decisions (request heads, Host and Origin) without a socket.
        .testTarget(name: "ServerTests", dependencies: ["Server"]),
        .testTarget(
            name: "PredictionTests", dependencies: ["Prediction", "Datasets", "TestSupport"]),
        .testTarget(name: "ModelExportTests", dependencies: ["ModelExport"]),
        .testTarget(name: "ImportanceTests", dependencies: ["Importance"]),
        .testTarget(name: "BenchmarkingTests", dependencies: ["Benchmarking", "Numerics"]),
        // CLITests and ReliabilityTests drive the built `mnistlab` binary through TestSupport's
        // Sandbox, so they depend on the executable to have it built.
        // TestSupport checks refused command lines in process with the CLI's own parser.
        .target(
            name: "TestSupport", dependencies: ["Datasets", "MNISTLabCLI"], path: "Tests/TestSupport"),
        .testTarget(
            name: "CLITests",
            dependencies: ["TestSupport", "Prediction", "MNISTLabCLI", "mnistlab", "mnistlab-serve"]),
        // ReliabilityTests recomputes ASHA's rule (Sweeps' Promotion) on what killed workers left,
        // and SlurmTests reads its store in process, faster than the trials it watches.
        .testTarget(
            name: "ReliabilityTests",
            dependencies: ["TestSupport", "Datasets", "Store", "Sweeps", "mnistlab"]),
    ],
    swiftLanguageModes: [.v6]
)
