/// Shared fixtures: stores on each engine, the small MNIST in the repository, small sweeps.
import Foundation
import Numerics
import Store
import TestSupport
import Training

@testable import Sweeps

/// The engines these tests run on: TestSupport's `Sandbox.Store`, SQLite always and
/// PostgreSQL when its test server runs (always under CI).
typealias TestEngine = Sandbox.Store

/// A fresh database on `engine`, removed with its directory when the value goes away.
final class TestDatabase {
    let directory: URL
    let location: String

    init(_ engine: TestEngine) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("SweepsTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch engine {
        case .sqlite: location = directory.appendingPathComponent("lab.sqlite").path
        case .postgres: location = try PostgresServer.shared.createDatabase()
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func open() throws -> Store { try Store.open(location: location) }
}

/// TestSupport's small MNIST (1,200 training and 100 test images, raw IDX), which every trial
/// here trains on: loading the repository's full Data/mnist cost a debug build about 3 CPU-s
/// per worker loop and per prepared dataset, against 0.2 s for this one.
let dataDirectory = smallMNIST

/// Quick trials: 8 hidden units, 300 training images, 100 for validation.
func smallPlan(
    learningRates: [Double], activation: [Activation] = [.sigmoid], epochs: Int = 2,
    data: String = dataDirectory
) -> SweepPlan {
    SweepPlan(
        grid: Grid(
            learningRate: learningRates, hidden: ["8"], activation: activation,
            loss: [.crossEntropy], momentum: [0], batchSize: [50], seed: [1]),
        epochs: epochs, keepEvery: 1,
        data: DataSource(directory: data, validationSize: 100, trainLimit: 300))
}
