import Foundation
import GRDB
import TestSupport
import Testing

@testable import Store

/// `run_stats` (behind `run_summary`) is kept by triggers, so it must equal a recomputation
/// from `epochs` whoever writes the rows: the Store, or a script with plain SQL.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct RunStatsTests {
    /// The figures as computed from scratch, one row per run, in run_stats' column order.
    static let recomputed = """
        SELECT r.id,
            (SELECT count(*) FROM epochs WHERE run_id = r.id),
            (SELECT max(epoch) FROM epochs WHERE run_id = r.id),
            (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
            (SELECT val_loss FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
            (SELECT max(val_accuracy) FROM epochs WHERE run_id = r.id),
            (SELECT coalesce(sum(seconds), 0) FROM epochs WHERE run_id = r.id),
            (SELECT val_accuracy FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
            (SELECT train_loss FROM epochs WHERE run_id = r.id ORDER BY epoch DESC LIMIT 1),
            (SELECT train_accuracy FROM epochs WHERE run_id = r.id ORDER BY epoch DESC LIMIT 1),
            (SELECT val_loss FROM epochs WHERE run_id = r.id ORDER BY epoch DESC LIMIT 1),
            (SELECT val_accuracy FROM epochs WHERE run_id = r.id ORDER BY epoch DESC LIMIT 1)
        FROM runs AS r ORDER BY r.id
        """
    static let kept = """
        SELECT run_id, epochs_done, last_epoch, best_epoch, best_val_loss, max_val_accuracy,
               total_seconds, best_val_accuracy, last_train_loss, last_train_accuracy,
               last_val_loss, last_val_accuracy
        FROM run_stats ORDER BY run_id
        """

    @Test func statsFollowInsertsUpdatesAndDeletesFromPlainSQL() throws {
        // Given: three runs with epochs recorded by the Store, ties in val_loss included
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            let run = try store.createRun(.sample(keepEvery: 1))
            try store.recordEpochs(runID: run.id, 1...20, keepEvery: 1) { _ in
                Double(Int.random(in: 1...5, using: &random)) / 10
            }
        }
        let database = try rawDatabase(path)
        func expectConsistent(_ step: String) throws {
            let (kept, recomputed) = try database.read { db in
                (try Row.fetchAll(db, sql: Self.kept), try Row.fetchAll(db, sql: Self.recomputed))
            }
            #expect(kept.map { Array($0.databaseValues) } == recomputed.map { Array($0.databaseValues) }, "\(step)")
        }
        try expectConsistent("after the Store's inserts")

        // When / Then: a script rewrites, deletes and inserts rows by hand
        try database.write { db in
            try db.execute(sql: "UPDATE epochs SET val_loss = 0.01 WHERE run_id = 1 AND epoch = 7")
        }
        try expectConsistent("after an update that makes a new best")
        try database.write { db in
            try db.execute(sql: "UPDATE epochs SET val_loss = 9 WHERE run_id = 1 AND epoch = 7")
        }
        try expectConsistent("after an update that takes the best away")
        try database.write { db in
            try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = 2")
            try db.execute(sql: "DELETE FROM epochs WHERE run_id = 2 AND epoch > 10")
        }
        try expectConsistent("after deleting the last epochs")
        try database.write { db in
            try db.execute(sql: "DELETE FROM epochs WHERE run_id = 2")
        }
        try expectConsistent("after deleting every epoch of a run")
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss,
                                        val_accuracy, seconds, recorded_at)
                    VALUES (3, 21, 0.1, 0.5, 0.0, 0.99, 2.5, '2026-01-01'),
                           (3, 22, 0.1, 0.5, 0.0, 0.10, 0.5, '2026-01-01')
                    """)
        }
        try expectConsistent("after inserting epochs with tied best val_loss")
        #expect(try store.summary(runID: 3)?.bestEpoch == 21)
    }

    @Test(arguments: TestEngine.all) func aRunWithoutEpochsHasNoFigures(engine: TestEngine) throws {
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample())

        let summary = try store.summary(runID: run.id)

        #expect(summary?.epochsDone == 0)
        #expect(summary?.lastEpoch == nil && summary?.bestEpoch == nil)
        #expect(summary?.totalSeconds == nil)
    }

    // MARK: - run_summary's figures of the best and the last epoch (migration 0010)

    /// run_summary's figures of its best and last epochs, and the same figures straight from
    /// `epochs` as run_summary computed them before 0005: the best by THE rule (lowest
    /// val_loss, earliest epoch on ties), the last the highest epoch.
    static let summaryFigures = """
        SELECT id, best_epoch, best_val_accuracy, last_epoch, last_train_loss,
               last_train_accuracy, last_val_loss, last_val_accuracy
        FROM run_summary ORDER BY id
        """
    static let figuresFromEpochs = """
        SELECT r.id, best.epoch, best.val_accuracy, last.epoch, last.train_loss,
               last.train_accuracy, last.val_loss, last.val_accuracy
        FROM runs AS r
        LEFT JOIN epochs AS best ON best.run_id = r.id AND best.epoch =
            (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1)
        LEFT JOIN epochs AS last ON last.run_id = r.id AND last.epoch =
            (SELECT max(epoch) FROM epochs WHERE run_id = r.id)
        ORDER BY r.id
        """

    private func expectSummaryFollowsEpochs(_ store: Store, _ step: String) throws {
        let (summary, direct) = try store.read { db in
            (try db.fetch(Self.summaryFigures), try db.fetch(Self.figuresFromEpochs))
        }
        #expect(!summary.isEmpty, "\(step)")
        #expect(summary.map(\.values) == direct.map(\.values), "\(step)")
    }

    /// Epoch `n` of `runID` with `valLoss`, and train and accuracy figures of its own, so that
    /// a figure left from another epoch shows: train_loss 1/n, train_accuracy n/16,
    /// val_accuracy n/8 (exact in binary for the n used here).
    private func epoch(_ runID: Int64, _ n: Int, valLoss: Double) -> EpochRecord {
        EpochRecord(
            runID: runID, epoch: n, trainLoss: 1 / Double(n), trainAccuracy: Double(n) / 16,
            valLoss: valLoss, valAccuracy: Double(n) / 8, seconds: 1)
    }

    @Test(arguments: TestEngine.all)
    func summaryFiguresFollowEveryWriteToEpochs(engine: TestEngine) throws {
        // Given: a run and a run without epochs
        let directory = try TemporaryDirectory(engine)
        let store = try Store.open(location: try directory.location("lab.sqlite"))
        let run = try store.createRun(.sample()).id
        let other = try store.createRun(.sample()).id
        try expectSummaryFollowsEpochs(store, "before any epoch")
        func record(_ n: Int, valLoss: Double) throws {
            try store.recordEpoch(epoch(run, n, valLoss: valLoss), checkpoint: nil, keepEvery: 50)
        }
        func script(_ sql: String, _ arguments: [Int64]) throws {
            _ = try store.write { db in try db.execute(sql, arguments.map(\.sqlValue)) }
        }
        func summary() throws -> RunSummary { try #require(try store.summary(runID: run)) }

        // When / Then: epochs 2, 3, 4 in order, 4 tying 2's val_loss
        for (n, valLoss) in [(2, 0.5), (3, 0.7), (4, 0.5)] { try record(n, valLoss: valLoss) }
        try expectSummaryFollowsEpochs(store, "after in-order inserts with a later tie")
        #expect(try summary().bestEpoch == 2 && summary().bestValAccuracy == 0.25)
        #expect(try summary().lastEpoch == 4 && summary().lastTrainLoss == 0.25)

        try record(6, valLoss: 0.8)
        try record(5, valLoss: 0.6)
        try expectSummaryFollowsEpochs(store, "after an epoch below the last")
        #expect(try summary().lastEpoch == 6 && summary().lastValLoss == 0.8)
        #expect(try summary().lastTrainAccuracy == 0.375 && summary().lastValAccuracy == 0.75)

        try record(1, valLoss: 0.5)
        try expectSummaryFollowsEpochs(store, "after an earlier epoch tying the best")
        #expect(try summary().bestEpoch == 1 && summary().bestValAccuracy == 0.125)

        try script("UPDATE epochs SET val_loss = 0.1, val_accuracy = 0.99 WHERE run_id = ? AND epoch = 3", [run])
        try expectSummaryFollowsEpochs(store, "after an update that makes a new best")
        #expect(try summary().bestEpoch == 3 && summary().bestValAccuracy == 0.99)

        try script("UPDATE epochs SET val_loss = 0.9 WHERE run_id = ? AND epoch = 3", [run])
        try expectSummaryFollowsEpochs(store, "after an update that takes the best away")
        #expect(try summary().bestEpoch == 1)

        try script("DELETE FROM epochs WHERE run_id = ? AND epoch = 6", [run])
        try expectSummaryFollowsEpochs(store, "after deleting the last epoch")
        #expect(try summary().lastEpoch == 5 && summary().lastValLoss == 0.6)

        try script("DELETE FROM epochs WHERE run_id = ? AND epoch = 1", [run])
        try expectSummaryFollowsEpochs(store, "after deleting the best epoch")
        #expect(try summary().bestEpoch == 2 && summary().bestValAccuracy == 0.25)

        try script("UPDATE epochs SET run_id = ? WHERE run_id = ? AND epoch = 5", [other, run])
        try expectSummaryFollowsEpochs(store, "after moving the last epoch to the other run")
        #expect(try summary().lastEpoch == 4)
        #expect(try store.summary(runID: other)?.lastValAccuracy == 0.625)

        try script("DELETE FROM epochs WHERE run_id = ?", [run])
        try expectSummaryFollowsEpochs(store, "after deleting every epoch")
        let empty = try summary()
        #expect(empty.bestEpoch == nil && empty.bestValAccuracy == nil && empty.lastEpoch == nil)
        #expect(empty.lastTrainLoss == nil && empty.lastTrainAccuracy == nil)
        #expect(empty.lastValLoss == nil && empty.lastValAccuracy == nil)
    }

    /// Written as 0009's schema takes them, into a database at 0009: run 1 in order with a tie
    /// and its last epoch deleted, run 2 out of order with an update that made a new best,
    /// run 3 without epochs.
    static let runsAt0009 = [
        """
        INSERT INTO runs (id, name, status, created_at, learning_rate, batch_size, epochs, hidden,
            activation, loss, seed, train_size, val_size, dataset_path, dataset_checksum,
            code_version, kernel_path)
        VALUES (1, 'in order', 'completed', '2026-12-01T08:00:00.000Z', 0.1, 32, 10, '100',
                'sigmoid', 'cross-entropy', 42, 50000, 10000, 'Data/mnist', 'crc32:0', 'test',
                'scalar'),
               (2, 'out of order', 'interrupted', '2026-12-01T09:00:00.000Z', 0.1, 32, 10, '100',
                'sigmoid', 'cross-entropy', 43, 50000, 10000, 'Data/mnist', 'crc32:0', 'test',
                'scalar'),
               (3, 'no epochs', 'failed', '2026-12-01T10:00:00.000Z', 0.1, 32, 10, '100',
                'sigmoid', 'cross-entropy', 44, 50000, 10000, 'Data/mnist', 'crc32:0', 'test',
                'scalar')
        """,
        """
        INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy,
            seconds, recorded_at)
        VALUES (1, 1, 0.9, 0.71, 0.6, 0.70, 1.0, '2026-12-01T08:00:01.000Z'),
               (1, 2, 0.7, 0.72, 0.5, 0.75, 1.0, '2026-12-01T08:00:02.000Z'),
               (1, 3, 0.5, 0.73, 0.5, 0.76, 1.0, '2026-12-01T08:00:03.000Z'),
               (1, 4, 0.4, 0.74, 0.7, 0.77, 1.0, '2026-12-01T08:00:04.000Z'),
               (2, 3, 0.3, 0.81, 0.4, 0.80, 2.0, '2026-12-01T09:00:03.000Z'),
               (2, 1, 0.8, 0.82, 0.4, 0.81, 2.0, '2026-12-01T09:00:01.000Z'),
               (2, 2, 0.6, 0.83, 0.9, 0.82, 2.0, '2026-12-01T09:00:02.000Z')
        """,
        "DELETE FROM epochs WHERE run_id = 1 AND epoch = 4",
        "UPDATE epochs SET val_loss = 0.3 WHERE run_id = 2 AND epoch = 2",
    ]

    @Test(arguments: TestEngine.all)
    func storeMigratedFrom0009ShowsTheSameSummary(engine: TestEngine) throws {
        // Given: a database at 0009 with runs in it, and its run_summary
        let directory = try TemporaryDirectory(engine)
        let location = try directory.location("old.sqlite")
        switch engine {
        case .sqlite:
            let file = try rawDatabase(location)
            try Migrations.migrate(file, upTo: 9)
            try file.write { db in for sql in Self.runsAt0009 { try db.execute(sql: sql) } }
        case .postgres:
            let old = try PostgresEngine.open(
                url: location, readOnly: false, allowOlderSchema: false,
                migrations: Array(PostgresMigrations.all.prefix(9)))
            try old.write { db in for sql in Self.runsAt0009 { try db.execute(sql) } }
            try old.close()
        }
        let allRows = "SELECT * FROM run_summary ORDER BY id"
        let old = try Store.open(location: location, readOnly: true, allowOlderSchema: true)
        #expect(try old.status().schemaVersion == 9)
        let before = try old.read { db in try db.fetch(allRows) }
        try old.close()

        // When: this build opens it
        let store = try Store.open(location: location)

        // Then: every row of run_summary is as it was, column for column (later migrations
        // add columns only at the end)
        let after = try store.read { db in try db.fetch(allRows) }
        let width = before.first?.columns.names.count ?? 0
        #expect(try store.status().schemaVersion == Migrations.latestVersion)
        #expect(after.first.map { Array($0.columns.names.prefix(width)) } == before.first?.columns.names)
        #expect(after.map { Array($0.values.prefix(width)) } == before.map(\.values))
        #expect(after.count == 3)
        #expect(try store.summary(runID: 2)?.bestEpoch == 2)
        try expectSummaryFollowsEpochs(store, "after the migration")

        // And: a new epoch folds into the figures the migration filled in
        _ = try store.write { db in
            try db.execute(
                """
                INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss,
                    val_accuracy, seconds, recorded_at)
                VALUES (1, 4, 0.2, 0.9, 0.55, 0.88, 1.0, '2026-12-02T08:00:00.000Z')
                """)
        }
        try expectSummaryFollowsEpochs(store, "after an epoch recorded after the migration")
        #expect(try store.summary(runID: 1)?.lastTrainLoss == 0.2)
        #expect(try store.summary(runID: 1)?.bestValAccuracy == 0.75)
    }
}
