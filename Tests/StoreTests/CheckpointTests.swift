import Foundation
import GRDB
import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct CheckpointTests {
    @Test(arguments: [false, true])
    func checkpointRoundTripIsBitExact(withVelocity: Bool) throws {
        // Given: awkward values (signed zero, NaN payload, subnormal, infinity)
        let directory = try TemporaryDirectory()
        let store = try Store.open(path: directory.path("lab.sqlite"))
        let run = try store.createRun(.sample(momentum: withVelocity ? 0.9 : 0))
        let weights: [Float] = [1, -0.0, Float(bitPattern: 0x7FC0_1234), .leastNonzeroMagnitude, .infinity]
            + (0..<1000).map { Float($0) * 0.001 }
        let velocity: [Float]? = withVelocity ? Array(weights.reversed()) : nil
        let saved = CheckpointRecord(runID: run.id, epoch: 1, weights: weights, velocity: velocity)

        // When
        try store.recordEpoch(.sample(runID: run.id, epoch: 1), checkpoint: saved, keepEvery: 1)
        let loaded = try #require(try store.checkpoint(runID: run.id, epoch: 1))

        // Then
        #expect(loaded.weights.map(\.bitPattern) == weights.map(\.bitPattern))
        #expect(loaded.velocity?.map(\.bitPattern) == velocity?.map(\.bitPattern))
        #expect(loaded.createdAt != nil)
    }

    @Test func blobIsLittleEndianFloat32WithZlibChecksum() throws {
        // Given
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        let run = try store.createRun(.sample(momentum: 0.9))

        // When
        try store.recordEpoch(
            .sample(runID: run.id, epoch: 1),
            checkpoint: CheckpointRecord(
                runID: run.id, epoch: 1, weights: [1, 2, -0.5, 0.25], velocity: [0.1, 0.2, 0.3, 0.4]),
            keepEvery: 1)

        // Then: what numpy.frombuffer(blob, '<f4') and zlib.crc32(weights + velocity) see
        let row = try #require(
            try store.writer.read { db in
                try Row.fetchOne(db, sql: "SELECT weights, parameter_count, checksum FROM checkpoints")
            })
        #expect(row["weights"] == Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0, 0xBF, 0, 0, 0x80, 0x3E]))
        #expect(row["parameter_count"] == 4)
        #expect(row["checksum"] == 2_754_743_599)  // python3: zlib.crc32(struct.pack('<8f', …))
    }

    @Test func corruptCheckpointIsDetected() throws {
        // Given: a checkpoint whose weights were altered behind the Store's back
        let directory = try TemporaryDirectory()
        let path = directory.path("lab.sqlite")
        let store = try Store.open(path: path)
        let run = try store.createRun(.sample())
        try store.recordEpochs(runID: run.id, 1...1, keepEvery: 1)
        try store.writer.write { db in
            try db.execute(sql: "UPDATE checkpoints SET weights = x'00000000'")
        }

        // When
        let error = #expect(throws: StoreError.self) {
            try store.checkpoint(runID: run.id, epoch: 1)
        }

        // Then
        #expect(error?.kind == .checksumMismatch)
        #expect(
            error?.description.hasPrefix(
                "Cannot load the checkpoint of run \(run.id) at epoch 1 from \(path): "
                    + "the checkpoint is corrupt") == true)
    }

    @Test func blobConversionRoundTripsEveryBit() {
        // Given: the MLP's 80k parameters: −0, ±∞, then scattered bit patterns (both signs,
        // subnormals and NaN payloads among them)
        let weights = [-0.0, .infinity, -.infinity] + (3..<80_000).map { k in
            Float(bitPattern: UInt32(truncatingIfNeeded: k &* 2_654_435_761))
        }

        // When
        let blob = FloatBlob.encode(weights)

        // Then: little-endian Float32, four bytes each, and back to the same bits, also from a
        // slice of the blob whose indices do not start at zero
        let expected = weights.flatMap { w in
            (0..<4).map { UInt8(truncatingIfNeeded: w.bitPattern >> (8 * $0)) }
        }
        #expect(blob == Data(expected))
        #expect(FloatBlob.decode(blob).map(\.bitPattern) == weights.map(\.bitPattern))
        #expect(
            FloatBlob.decode(blob.dropFirst(8)).map(\.bitPattern)
                == weights.dropFirst(2).map(\.bitPattern))
    }

    // MARK: - Choosing an epoch while the run trains

    @Test(arguments: TestEngine.all) func theLastCheckpointOfATrainingRunIsFoundAndForkedFrom(engine: TestEngine) async throws {
        // Given a run in training whose every epoch commit prunes the checkpoint before it
        let directory = try TemporaryDirectory(engine)
        let path = try directory.location("lab.sqlite")
        let trainer = try Store.open(location: path)
        let run = try trainer.createRun(.sample(keepEvery: 1000))
        try trainer.recordEpochs(runID: run.id, 1...1, keepEvery: 1000)
        let reader = try Store.open(location: path)

        // When its next 40 epochs are recorded while another process reads its last
        // checkpoint and forks from its last epoch, again and again
        let training = Task.detached {
            try trainer.recordEpochs(runID: run.id, 2...41, keepEvery: 1000)
        }
        var forks: [Run] = []
        for _ in 0..<20 {
            let picked = try #require(try reader.checkpoint(runID: run.id) { $0.lastEpoch })
            #expect(picked.epoch != nil && picked.checkpoint?.epoch == picked.epoch)
            let (from, fork) = try reader.createFork(
                .sample(parentRunID: run.id), leaseSeconds: 30
            ) { $0.lastEpoch }
            let child = try #require(fork?.run)
            #expect(from.checkpoint?.epoch == child.parentEpoch)
            forks.append(child)
        }
        try await training.value

        // Then every read found the checkpoint it chose, and every fork's starting point is
        // still kept
        let kept = try reader.checkpointEpochs(runID: run.id)
        for fork in forks { #expect(kept.contains(try #require(fork.parentEpoch))) }
    }

    // MARK: - Space

    @Test(.enabled(if: PostgresServer.isAvailable, Comment(rawValue: PostgresServer.unavailableReason)))
    func epochCommitsReclaimTheSpaceOfEveryFourthDroppedCheckpointAndTheRestWhenTheRunEnds() throws {
        // Given a PostgreSQL store and a run that keeps only its best and latest checkpoints
        let directory = try TemporaryDirectory(.postgres)
        let store = try Store.open(location: try directory.location("lab"))
        let run = try store.createRun(.sample(keepEvery: 1000))
        /// Manual VACUUMs of `checkpoints` so far (autovacuum's are counted apart).
        func vacuums() throws -> Int64 {
            try store.read { db in
                try db.scalar(
                    "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'checkpoints'",
                    as: Int64.self) ?? -1
            }
        }
        let before = try vacuums()

        // When 10 epochs are recorded, each improving (the best is the latest): from the
        // second on, each commit drops the previous checkpoint, 9 in all
        for epoch in 1...10 {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: epoch, valLoss: 1 / Double(epoch)),
                checkpoint: CheckpointRecord(runID: run.id, epoch: epoch, weights: [1, 2, 3]),
                keepEvery: 1000)
        }

        // Then the space was reclaimed after the 4th and the 8th drop only, not at every commit
        #expect(try vacuums() - before == 2)
        #expect(try store.checkpointEpochs(runID: run.id) == [10])

        // And once more when the run ends, for the last one dropped
        try store.finishRun(id: run.id, status: .completed)
        #expect(try vacuums() - before == 3)
    }

    @Test(arguments: TestEngine.all) func aFinishedRunTakesLessThanTwiceWhatItKeeps(engine: TestEngine) throws {
        // Given a run of 400 epochs with a checkpoint of 318 KB each (the 784-100-10 MLP),
        // keeping every 50th, its best (epoch 137) and its latest: 9 checkpoints
        let directory = try TemporaryDirectory(engine)
        let location = try directory.location("lab.sqlite")
        let store = try Store.open(location: location)
        let run = try store.createRun(.sample(keepEvery: 50))
        let weights = [Float](repeating: 0.25, count: 79_510)
        for epoch in 1...400 {
            try store.recordEpoch(
                .sample(runID: run.id, epoch: epoch, valLoss: abs(Double(epoch) - 137) + 0.5),
                checkpoint: CheckpointRecord(runID: run.id, epoch: epoch, weights: weights),
                keepEvery: 50)
        }
        try store.finishRun(id: run.id, status: .completed)
        #expect(try store.checkpointEpochs(runID: run.id) == [50, 100, 137, 150, 200, 250, 300, 350, 400])
        let kept = Int64(9 * 4 * weights.count)

        // When it is measured, without `db vacuum`: the tables on the server, or the file
        // once closed
        let bytes: Int64
        switch engine {
        case .postgres:
            bytes = try #require(
                try store.read { db in
                    try db.scalar(
                        """
                        SELECT CAST(sum(pg_total_relation_size(c.oid)) AS BIGINT)
                        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'public' AND c.relkind = 'r'
                        """, as: Int64.self)
                })
            try store.close()
        case .sqlite:
            try store.close()
            let size = try FileManager.default.attributesOfItem(atPath: location)[.size] as? Int
            bytes = Int64(try #require(size))
        }

        // Then it takes less than twice the bytes of the checkpoints it keeps (before, on
        // PostgreSQL: 133 MB, one dead checkpoint per epoch)
        #expect(bytes < 2 * kept, "\(bytes) bytes for \(kept) bytes of checkpoints")
    }
}
