/// Shared fixtures: a temporary directory per test, a sample run, raw file access.
import Foundation
import GRDB
import Synchronization
import TestSupport
import Testing

@testable import Store

/// The engines the store's behaviour tests run on: each such test runs once per engine.
/// PostgreSQL is TestSupport's throwaway server: always under CI (where a server that can't
/// start fails those tests), elsewhere when it could start.
enum TestEngine: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    static var all: [TestEngine] { PostgresServer.isAvailable ? allCases : [.sqlite] }

    var testDescription: String { rawValue }
}

/// A fresh place for a test's databases, removed when the value goes away: a directory
/// under the system temp dir, and for `.postgres` a new database on the test server for each
/// name asked for.
final class TemporaryDirectory {
    let url: URL
    let engine: TestEngine
    private let databases = Mutex<[String: String]>([:])

    init(_ engine: TestEngine = .sqlite) throws {
        self.engine = engine
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("StoreTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    /// Where the database called `name` lives on this engine: a file in the directory, or
    /// the URL of a database of its own on the test server.
    func location(_ name: String) throws -> String {
        switch engine {
        case .sqlite:
            return path(name)
        case .postgres:
            return try databases.withLock { databases in
                if let url = databases[name] { return url }
                let url = try PostgresServer.shared.createDatabase()
                databases[name] = url
                return url
            }
        }
    }
}

extension NewRun {
    static func sample(
        name: String? = nil, parentRunID: Int64? = nil, parentEpoch: Int? = nil,
        momentum: Double = 0, keepEvery: Int = 50
    ) -> NewRun {
        NewRun(
            name: name, parentRunID: parentRunID, parentEpoch: parentEpoch,
            learningRate: 0.1, batchSize: 32, epochs: 10, hidden: "100", activation: "sigmoid",
            loss: "cross-entropy", momentum: momentum, seed: 42, trainSize: 50_000,
            valSize: 10_000, datasetPath: "Data/mnist", datasetChecksum: "sha256:abc",
            codeVersion: "test", kernelPath: "scalar", keepEvery: keepEvery)
    }
}

/// The leases of the runs these tests create, so that tests about something else than
/// ownership can write as the holder without threading a lease through every call.
private let heldLeases = Mutex<[String: Lease]>([:])

extension Store {
    /// The GRDB connection of a store on SQLite, for tests that look at the file directly.
    var writer: DatabaseQueue {
        get throws {
            guard let engine = engine as? SQLiteEngine else {
                throw StoreError(.invalidArgument, "the store is not on SQLite.")
            }
            return engine.writer
        }
    }

    /// `createRun` holding the lease for the calls below (30 s, more than any test needs).
    func createRun(_ new: NewRun) throws -> Run {
        let (run, lease) = try createRun(new, leaseSeconds: 30)
        heldLeases.withLock { $0["\(location)#\(run.id)"] = lease }
        return run
    }

    /// The lease `createRun` took for `runID`; an unknown run gets a lease no run has.
    func lease(_ runID: Int64) -> Lease {
        heldLeases.withLock { $0["\(location)#\(runID)"] } ?? Lease(runID: runID, seconds: 30)
    }

    func recordEpoch(_ epoch: EpochRecord, checkpoint: CheckpointRecord?, keepEvery: Int) throws {
        try recordEpoch(epoch, checkpoint: checkpoint, keepEvery: keepEvery, lease: lease(epoch.runID))
    }

    func finishRun(id: Int64, status: Run.Status, reason: String? = nil) throws {
        try finishRun(lease(id), status: status, reason: reason)
    }
}

extension EpochRecord {
    static func sample(runID: Int64, epoch: Int, valLoss: Double = 0.5) -> EpochRecord {
        EpochRecord(
            runID: runID, epoch: epoch, trainLoss: 0.4, trainAccuracy: 0.9, valLoss: valLoss,
            valAccuracy: 0.88, seconds: 1.5)
    }
}

extension Store {
    /// Records epochs `epochs` of `runID` with a tiny checkpoint each, val_loss from `valLoss`.
    func recordEpochs(
        runID: Int64, _ epochs: ClosedRange<Int>, keepEvery: Int,
        valLoss: (Int) -> Double = { _ in 0.5 }
    ) throws {
        for epoch in epochs {
            try recordEpoch(
                .sample(runID: runID, epoch: epoch, valLoss: valLoss(epoch)),
                checkpoint: CheckpointRecord(runID: runID, epoch: epoch, weights: [Float(epoch)]),
                keepEvery: keepEvery)
        }
    }
}

/// A database at `schema` holding run 1 ('old', completed) and, if `epoch`, its epoch 1,
/// written with raw SQL in 0001's columns: the records have columns added by later files.
func writeOldDatabase(_ path: String, schema: Int, epoch: Bool = false) throws {
    let old = try rawDatabase(path)
    try Migrations.migrate(old, upTo: schema)
    try old.write { db in
        try db.execute(
            sql: """
                INSERT INTO runs (id, name, status, created_at, learning_rate, batch_size,
                    epochs, hidden, activation, loss, seed, train_size, val_size,
                    dataset_path, dataset_checksum, code_version, kernel_path)
                VALUES (1, 'old', 'completed', '2026-11-25T08:00:00.000Z', 0.1, 32, 10,
                    '100', 'sigmoid', 'cross-entropy', 42, 50000, 10000, 'Data/mnist',
                    'crc32:0', 'test', 'scalar')
                """)
        if epoch {
            try db.execute(
                sql: """
                    INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss,
                        val_accuracy, seconds, recorded_at)
                    VALUES (1, 1, 0.5, 0.8, 0.6, 0.79, 1.0, '2026-11-25T08:00:01.000Z')
                    """)
        }
    }
}

/// A raw GRDB connection, for setting up states the Store API can't produce (older schema,
/// corrupt blob, newer migration).
func rawDatabase(_ path: String) throws -> DatabaseQueue {
    try DatabaseQueue(path: path)
}
