// swift-tools-version:6.1
// MNISTLab: an experiment tracker for MLP training on MNIST, backed by SQLite.
//
// Dependencies point one way:
//   CKernels ← Numerics ← Datasets ← Training ← MNISTLabCLI ← mnistlab
//                   Store (GRDB, PostgresNIO) ↗ Reports ↗
//                        Numerics ← Benchmarking ↗
//   CPNG (libpng) + Training ← Prediction ↗
//   Training ← ModelExport ↗ (and ← Server)
//   Store + Reports + Prediction + FlyingFox ← Server; MNISTLabCLI + Server ← mnistlab-serve
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
        // The dashboard's HTTP server: no dependencies of its own (see docs/layout.md).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // The PostgreSQL engine's client: SCRAM authentication, TLS, the extended protocol.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // postgres-nio logs through swift-log; the engine hands it a logger that drops it all.
        .package(url: "https://github.com/apple/swift-log", from: "1.5.3"),
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
        .target(
            name: "Store",
            dependencies: [
                "CZlib", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Migrations")]),
        .target(name: "Training", dependencies: ["Numerics", "Datasets", "Store"]),
        // Self-contained HTML reports with inline SVG charts, rendered from stored runs.
        .target(name: "Reports", dependencies: ["Store"]),
        // Images of digits (PNG through libpng, PGM) prepared as MNIST's and classified.
        .target(name: "Prediction", dependencies: ["CPNG", "Numerics", "Store", "Training"]),
        // A checkpoint as an ONNX model or a safetensors file (encoders written here, no
        // protobuf library), and an ONNX file it wrote read back.
        .target(name: "ModelExport", dependencies: ["Numerics", "Store", "Training"]),
        // `mnistlab serve`: the dashboard's routes, JSON API and event streams.
        .target(
            name: "Server",
            dependencies: [
                "Datasets", "Store", "Reports", "Prediction", "Training", "ModelExport",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ]),
        // Which settings mattered in a sweep: fANOVA over a random forest, pure arithmetic.
        .target(name: "Importance", dependencies: ["Numerics"]),
        // The engine's epoch timed for `mnistlab bench`: measuring code kept out of Numerics.
        .target(name: "Benchmarking", dependencies: ["Numerics", "CKernels"]),
        .target(
            name: "MNISTLabCLI",
            dependencies: [
                "Training", "Store", "Datasets", "Numerics", "Reports", "Benchmarking", "Prediction",
                "ModelExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "mnistlab", dependencies: ["MNISTLabCLI"]),
        // `mnistlab serve` becomes this program, so that only it loads the HTTP server's
        // networking libraries, not every mnistlab command.
        .executableTarget(
            name: "mnistlab-serve", dependencies: ["MNISTLabCLI", "Server"],
            path: "Sources/mnistlab-serve"),

        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "CKernels"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        // StoreTests uses TestSupport's throwaway PostgreSQL server (PostgresServer).
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(
            name: "PredictionTests", dependencies: ["Prediction", "Datasets", "TestSupport"]),
        .testTarget(name: "ModelExportTests", dependencies: ["ModelExport"]),
        .testTarget(name: "ImportanceTests", dependencies: ["Importance"]),
        .testTarget(name: "BenchmarkingTests", dependencies: ["Benchmarking", "Numerics"]),
        // CLITests and ReliabilityTests drive the built `mnistlab` binary through TestSupport's
        // Sandbox, so they depend on the executable to have it built.
        .target(name: "TestSupport", dependencies: ["Datasets"], path: "Tests/TestSupport"),
        .testTarget(
            name: "CLITests",
            dependencies: ["TestSupport", "Prediction", "MNISTLabCLI", "mnistlab", "mnistlab-serve"]),
        .testTarget(name: "ReliabilityTests", dependencies: ["TestSupport", "Datasets", "mnistlab"]),
    ],
    swiftLanguageModes: [.v6]
)
