import Foundation
import GRDB
import TestSupport
import Testing
import Training

@testable import Store
@testable import Sweeps

/// Migration 0012: a store whose trials hold `mnistlab train` argument lists (as every sweep
/// wrote them before it) keeps working: the lists become typed settings, and the trials train
/// with exactly the settings the arguments gave.
@Suite(.blocksItsThread, .serialized, .timeLimit(.minutes(5))) struct SettingsMigrationTests {
    /// Two trials as `sweep` stored them: one with only the options it always wrote, one with
    /// every optional one.
    static let argumentLists: [[String]] = [
        [
            "--sweep", "1", "--name", "sweep-1/lr=0.05", "--epochs", "2", "--learning-rate", "0.05",
            "--hidden", "8", "--activation", "sigmoid", "--loss", "cross-entropy",
            "--momentum", "0.0", "--batch-size", "50", "--seed", "1", "--val-size", "100",
            "--data", dataDirectory, "--train-limit", "300",
        ],
        [
            "--sweep", "1", "--name", "sweep-1/lr=0.5", "--epochs", "2", "--learning-rate", "0.5",
            "--hidden", "8,4", "--activation", "relu", "--loss", "mse", "--momentum", "0.9",
            "--batch-size", "60", "--seed", "18446744073709551615", "--val-size", "100",
            "--data", dataDirectory, "--train-limit", "300", "--keep-every", "1",
            "--weight-decay", "0.0001", "--lr-schedule", "cosine", "--min-learning-rate", "0.001",
            "--patience", "5", "--min-delta", "0.01",
        ],
    ]

    /// What those arguments meant to `train`.
    static var expected: [TrialSettings] {
        let data = DataSource(directory: dataDirectory, validationSize: 100, trainLimit: 300)
        var first = Hyperparameters()
        first.epochs = 2
        first.learningRate = 0.05
        first.hidden = [8]
        first.batchSize = 50
        var second = Hyperparameters()
        second.epochs = 2
        second.learningRate = 0.5
        second.hidden = [8, 4]
        second.activation = .relu
        second.loss = .mse
        second.momentum = 0.9
        second.batchSize = 60
        second.seed = .max
        second.weightDecay = 0.0001
        second.lrSchedule = .cosine
        second.minLearningRate = 0.001
        second.patience = 5
        second.minDelta = 0.01
        return [
            TrialSettings(name: "sweep-1/lr=0.05", hyperparameters: first, data: data),
            TrialSettings(
                name: "sweep-1/lr=0.5", hyperparameters: second, data: data, keepEvery: 1),
        ]
    }

    /// The sweep and its trials, written at schema 0010 (the same SQL on both engines).
    static var rowsAt0010: [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let lists = argumentLists.map { String(decoding: try! encoder.encode($0), as: UTF8.self) }
        return [
            "INSERT INTO sweeps (id, created_at, grid, size, uid) VALUES (1, '2026-12-01T08:00:00.000Z', '{}', 2, 'sweep-uid-1')",
            "INSERT INTO trials (id, sweep_id, number, settings) VALUES (1, 1, 1, '\(lists[0])'), (2, 1, 2, '\(lists[1])')",
        ]
    }

    func writeStoreAt0010(_ database: TestDatabase, _ engine: TestEngine) throws {
        switch engine {
        case .sqlite:
            let file = try DatabaseQueue(path: database.location)
            try Migrations.migrate(file, upTo: 10)
            try file.write { db in for sql in Self.rowsAt0010 { try db.execute(sql: sql) } }
            try file.close()
        case .postgres:
            let old = try PostgresEngine.open(
                url: database.location, readOnly: false, allowOlderSchema: false,
                migrations: Array(PostgresMigrations.all.prefix(10)))
            try old.write { db in for sql in Self.rowsAt0010 { try db.execute(sql) } }
            try old.close()
        }
    }

    @Test(arguments: TestEngine.all)
    func argumentListTrialsTrainWithTheSameSettingsAfterTheMigration(engine: TestEngine) throws {
        // Given a store at 0010 whose trials are argument lists
        let database = try TestDatabase(engine)
        try writeStoreAt0010(database, engine)

        // When this build opens it
        let store = try database.open()

        // Then each trial holds typed settings, those its arguments gave
        #expect(try store.status().schemaVersion == Migrations.latestVersion)
        let trials = try store.trials(sweepID: 1)
        #expect(try trials.map { try $0.decodedSettings() } == Self.expected)

        // And a worker trains them with exactly those settings
        #expect(try WorkerLoop(store: store, sweepID: 1).run() == .nothingLeft(trained: 2))
        for (trial, settings) in zip(try store.trials(sweepID: 1), Self.expected) {
            #expect(trial.status == .completed)
            let runID = try #require(trial.runID)
            let run = try #require(try store.run(id: runID))
            #expect(run.name == settings.name)
            #expect(try Hyperparameters(run) == settings.hyperparameters)
            #expect(run.keepEvery == settings.keepEvery)
            #expect(run.trainSize == 300 && run.valSize == 100)
        }
    }
}
