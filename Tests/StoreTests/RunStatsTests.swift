import Foundation
import GRDB
import Testing

@testable import Store

/// `run_stats` (behind `run_summary`) is kept by triggers, so it must equal a recomputation
/// from `epochs` whoever writes the rows: the Store, or a script with plain SQL.
@Suite struct RunStatsTests {
    /// The figures as computed from scratch, one row per run, in run_stats' column order.
    static let recomputed = """
        SELECT r.id,
            (SELECT count(*) FROM epochs WHERE run_id = r.id),
            (SELECT max(epoch) FROM epochs WHERE run_id = r.id),
            (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
            (SELECT val_loss FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1),
            (SELECT max(val_accuracy) FROM epochs WHERE run_id = r.id),
            (SELECT coalesce(sum(seconds), 0) FROM epochs WHERE run_id = r.id)
        FROM runs AS r ORDER BY r.id
        """
    static let kept = """
        SELECT run_id, epochs_done, last_epoch, best_epoch, best_val_loss, max_val_accuracy,
               total_seconds
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
}
