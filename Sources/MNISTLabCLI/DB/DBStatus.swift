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
            let status = try database.openForReading(allowOlderSchema: true).status()
            if output.json { return try printJSON(StatusJSON(status)) }
            print("""
                path            \(status.path)
                schema version  \(status.schemaVersion) (this build knows \(status.knownSchemaVersion))
                runs            \(status.runCount)
                epochs          \(status.epochCount)
                checkpoints     \(status.checkpointCount)
                size            \(Format.fixed(Double(status.fileSizeBytes) / 1_048_576, digits: 2)) MiB
                migrations
                """)
            for m in status.migrations { print("  \(m.version)  \(m.name)  applied \(m.appliedAt)") }
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
    var size_bytes: Int64
    var migrations: [Migration]

    init(_ s: DatabaseStatus) {
        path = s.path
        schema_version = s.schemaVersion
        known_schema_version = s.knownSchemaVersion
        runs = s.runCount
        epochs = s.epochCount
        checkpoints = s.checkpointCount
        size_bytes = s.fileSizeBytes
        migrations = s.migrations.map { Migration(version: $0.version, name: $0.name, applied_at: $0.appliedAt) }
    }
}
