import ArgumentParser
import Store

extension MNISTLab {
    struct DBStatus: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the database's path, schema version, migrations, counts and size.",
            discussion: """
                Examples:
                  mnistlab db status
                  mnistlab db status --db experiments.sqlite --json
                """)

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openForReading(allowOlderSchema: true)
            let status = try store.status()
            let space = try store.checkpointSpace(limit: 10)
            if output.json { return try printJSON(StatusJSON(status, space: space)) }
            print("""
                path            \(status.path)
                schema version  \(status.schemaVersion) (this build knows \(status.knownSchemaVersion))
                runs            \(status.runCount)
                epochs          \(status.epochCount)
                checkpoints     \(status.checkpointCount) (\(Format.mebibytes(status.checkpointBytes)))
                size            \(Format.fixed(Double(status.fileSizeBytes) / 1_048_576, digits: 2)) MiB
                migrations
                """)
            for m in status.migrations { print("  \(m.version)  \(m.name)  applied \(m.appliedAt)") }
            guard !space.isEmpty else { return }
            // What `mnistlab prune` or `rm` would free, largest first.
            print("checkpoint space (top \(space.count))")
            var table = Table(["run", "name", "checkpoints", "MiB"], numeric: [0, 2, 3])
            for s in space {
                table.append([
                    "\(s.runID)", s.name, "\(s.checkpoints)",
                    Format.fixed(Double(s.bytes) / 1_048_576, digits: 2),
                ])
            }
            print(table.render(styled: false).split(separator: "\n").map { "  " + $0 }
                .joined(separator: "\n"))
        }
    }
}

private struct StatusJSON: Encodable {
    struct Migration: Encodable {
        var version: Int
        var name: String
        var applied_at: String
    }

    var path: String
    var schema_version: Int
    var known_schema_version: Int
    var runs: Int
    var epochs: Int
    var checkpoints: Int
    var checkpoint_bytes: Int64
    var size_bytes: Int64
    var migrations: [Migration]
    /// The runs whose checkpoints take the most space, largest first (at most 10).
    var checkpoint_space: [Space]

    struct Space: Encodable {
        var run_id: Int64
        var name: String
        var checkpoints: Int
        var bytes: Int64
    }

    init(_ s: DatabaseStatus, space: [CheckpointSpace]) {
        path = s.path
        schema_version = s.schemaVersion
        known_schema_version = s.knownSchemaVersion
        runs = s.runCount
        epochs = s.epochCount
        checkpoints = s.checkpointCount
        size_bytes = s.fileSizeBytes
        checkpoint_bytes = s.checkpointBytes
        checkpoint_space = space.map {
            Space(run_id: $0.runID, name: $0.name, checkpoints: $0.checkpoints, bytes: $0.bytes)
        }
        migrations = s.migrations.map { Migration(version: $0.version, name: $0.name, applied_at: $0.appliedAt) }
    }
}
