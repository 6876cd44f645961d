import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Hostile inputs: each is refused with one line on standard error starting "Error: ", a
/// non-zero exit, no stack trace, and the database byte-identical (or not created).
/// ErrorTests (CLITests) already covers the simple option and `sql` refusals; these extend it.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct HostileInputTests {
    // MARK: - Datasets

    /// A copy of the small dataset in `sandbox/name`, with `edit` applied to its files.
    func dataset(_ sandbox: Sandbox, _ name: String, edit: @Sendable (String) throws -> Void) throws -> String {
        let directory = sandbox.path(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: smallMNIST) {
            try FileManager.default.copyItem(atPath: "\(smallMNIST)/\(file)", toPath: "\(directory)/\(file)")
        }
        try edit(directory)
        return directory
    }

    static let trainImages = "train-images-idx3-ubyte"
    static let trainLabels = "train-labels-idx1-ubyte"
    static let testImages = "t10k-images-idx3-ubyte"

    /// An IDX header: magic 00 00 08 rank, then big-endian dimensions.
    static func header(_ dimensions: [UInt32]) -> [UInt8] {
        [0, 0, 8, UInt8(dimensions.count)] + dimensions.flatMap { d in [24, 16, 8, 0].map { UInt8((d >> $0) & 0xff) } }
    }

    static func edit(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        change(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func gzipFile(_ path: String) throws {
        let result = try shell("/bin/sh", ["-c", "gzip -f '\(path)'"])
        #expect(result.status == 0, "\(result.output)")
    }

    /// Each broken dataset, with the words its error must contain.
    static let brokenDatasets: [(name: String, expected: String, edit: @Sendable (String) throws -> Void)] = [
        ("truncated images", "truncated", { d in try edit("\(d)/\(trainImages)") { $0.removeLast(5_000) } }),
        ("truncated header", "header is truncated", { d in try edit("\(d)/\(trainImages)") { $0.removeLast($0.count - 9) } }),
        ("wrong magic", "not an IDX file", { d in try edit("\(d)/\(trainLabels)") { $0[2] = 0x0d } }),
        ("wrong rank", "expected 1 dimensions, found 3", { d in try edit("\(d)/\(trainLabels)") { $0[3] = 3 } }),
        ("extra bytes", "found", { d in try edit("\(d)/\(trainLabels)") { $0 += [1, 2, 3] } }),
        ("empty file", "empty", { d in try Data().write(to: URL(fileURLWithPath: "\(d)/\(trainLabels)")) }),
        ("count mismatch", "1200 images but", { d in
            try edit("\(d)/\(trainLabels)") { $0 = header([1_199]) + $0[8..<(8 + 1_199)] }
        }),
        ("label out of range", "is not a digit", { d in try edit("\(d)/\(trainLabels)") { $0[100] = 10 } }),
        ("no images", "holds no pixels", { d in
            try edit("\(d)/\(trainImages)") { $0 = header([0, 28, 28]) }
            try edit("\(d)/\(trainLabels)") { $0 = header([0]) }
        }),
        ("test images of another size", "pixels", { d in
            try edit("\(d)/\(testImages)") { $0 = header([100, 27, 27]) + [UInt8](repeating: 1, count: 100 * 27 * 27) }
        }),
        ("images wider than a sparse row can index", "pixels", { d in
            try edit("\(d)/\(trainImages)") { $0 = header([2, 1, 70_000]) + [UInt8](repeating: 1, count: 140_000) }
            try edit("\(d)/\(trainLabels)") { $0 = header([2]) + [3, 4] }
        }),
        ("dimensions whose product overflows", "dimensions", { d in
            try edit("\(d)/\(trainImages)") { $0 = header([0xffff_ffff, 0xffff_ffff, 0xffff_ffff]) + [0, 1, 2] }
        }),
        ("a directory in a file's place", "not a regular file", { d in
            try FileManager.default.removeItem(atPath: "\(d)/\(trainLabels)")
            try FileManager.default.createDirectory(atPath: "\(d)/\(trainLabels)", withIntermediateDirectories: false)
        }),
        ("corrupt gzip", "gzip data is corrupt", { d in
            try gzipFile("\(d)/\(trainImages)")
            try edit("\(d)/\(trainImages).gz") { for i in stride(from: 200, to: 400, by: 7) { $0[i] ^= 0x5a } }
        }),
        ("truncated gzip", "gzip data is truncated", { d in
            try gzipFile("\(d)/\(trainImages)")
            try edit("\(d)/\(trainImages).gz") { $0.removeLast($0.count / 2) }
        }),
        ("gzip trailer claiming 4 GB", "gzip data is corrupt", { d in
            try gzipFile("\(d)/\(trainLabels)")
            try edit("\(d)/\(trainLabels).gz") { $0[$0.count - 4..<$0.count] = [0xff, 0xff, 0xff, 0xff] }
        }),
    ]

    @Test func brokenDatasetIsRefusedWithoutTouchingTheDatabase() throws {
        // Given a database holding one run
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "1"]).status == 0)
        try settle(sandbox)
        let before = fileBytes(sandbox.database)

        for (index, broken) in Self.brokenDatasets.enumerated() {
            // When train, and resume with --data, are pointed at the broken dataset
            let data = try dataset(sandbox, "data-\(index)", edit: broken.edit)
            for command in [
                ["train", "--epochs", "1", "--val-size", "200", "--data", data],
                ["resume", "1", "--epochs", "3", "--data", data],
            ] {
                let output = try sandbox.run(command)

                // Then each is one clear line naming the problem, and nothing was written
                expectCleanRefusal(output, "\(broken.name), \(command[0])")
                #expect(output.stderr.contains(broken.expected), "\(broken.name): \(output.stderr)")
            }
            #expect(fileBytes(sandbox.database) == before, "\(broken.name)")
        }
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "1")
    }

    // MARK: - Database files

    /// Every subcommand, as it would be run against `--db`.
    static let everyCommand: [[String]] = [
        ["train", "--epochs", "1", "--val-size", "200"], ["resume", "1"], ["runs"], ["show", "1"],
        ["best", "1"], ["compare", "1", "1"], ["sql", "SELECT 1"], ["db", "status"],
    ]

    func expectEveryCommandRefuses(
        _ sandbox: Sandbox, database: String, _ kind: String, containing words: String
    ) throws {
        let before = fileBytes(database)
        for command in Self.everyCommand {
            let output = try sandbox.run(command + ["--db", database])
            expectCleanRefusal(output, "\(kind): \(command[0])")
            #expect(output.stderr.contains(words), "\(kind): \(command[0]): \(output.stderr)")
        }
        #expect(fileBytes(database) == before, "\(kind)")
        // A read-only look may leave an empty -wal beside a WAL database, never content.
        #expect((fileBytes(database + "-wal") ?? Data()).isEmpty, "\(kind)")
    }

    @Test func directoryAsDatabaseIsRefused() throws {
        let sandbox = try Sandbox()
        let directory = sandbox.path("a-directory")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try expectEveryCommandRefuses(sandbox, database: directory, "directory", containing: "directory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func nonSQLiteFilesAreRefused() throws {
        let sandbox = try Sandbox()
        for (name, bytes) in [
            ("text", Data("id,name\n1,x\n".utf8)),
            ("random", Data((0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })),
            ("sqlite-magic-only", Data("SQLite format 3\0".utf8)),
        ] {
            let path = sandbox.path(name)
            try bytes.write(to: URL(fileURLWithPath: path))
            try expectEveryCommandRefuses(sandbox, database: path, name, containing: "Cannot open database")
        }
    }

    @Test func sqliteDatabaseOfAnotherApplicationIsRefused() throws {
        // Given an SQLite file made by someone else (with sqlite3, or mnistlab's own
        // schema stripped of its application id if sqlite3 is missing)
        let sandbox = try Sandbox()
        let other = sandbox.path("notes.sqlite")
        guard try sqlite3(other, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('keep me');") != nil
        else { return }

        // When and Then every command refuses it and leaves it as it was
        try expectEveryCommandRefuses(
            sandbox, database: other, "another application", containing: "another application")
        #expect(try sqlite3(other, "SELECT body FROM notes")?.output == "keep me\n")
    }

    @Test func newerSchemaIsRefusedByEveryCommand() throws {
        // Given an mnistlab database that a future version migrated to schema 999
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "1"]).status == 0)
        guard try sqlite3(
            sandbox.database,
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', '2099-01-01T00:00:00Z'); PRAGMA user_version = 999;"
        )?.status == 0 else { return }

        // When and Then every command refuses it, byte for byte untouched
        try expectEveryCommandRefuses(sandbox, database: sandbox.database, "newer schema", containing: "newer mnistlab")
    }

    @Test func corruptDatabaseIsRefusedNotCrashedOn() throws {
        // Given a database whose pages after the header were overwritten
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "2", "--keep-every", "1"]).status == 0)
        try settle(sandbox)
        try Self.edit(sandbox.database) { bytes in
            for i in stride(from: 4_096 + 100, to: min(bytes.count, 40_000), by: 13) { bytes[i] = 0xa5 }
        }

        // When and Then every command fails with one line and nothing is rewritten
        let before = fileBytes(sandbox.database)
        for command in Self.everyCommand + [["sql", "PRAGMA integrity_check"]] {
            let output = try sandbox.run(command)
            if output.status == 0 { continue }  // a command may not read the damaged pages
            expectCleanRefusal(output, "corrupt: \(command[0])")
        }
        #expect(fileBytes(sandbox.database) == before)
    }

    @Test func tamperedCheckpointIsRefusedOnResume() throws {
        // Given a run whose last checkpoint was altered behind mnistlab's back
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "2"]).status == 0)
        guard try sqlite3(
            sandbox.database,
            "UPDATE checkpoints SET weights = zeroblob(length(weights)) WHERE epoch = 2")?.status == 0
        else { return }
        try settle(sandbox)
        let before = fileBytes(sandbox.database)

        // When it is resumed, Then the checksum mismatch is named and nothing changes
        let output = try sandbox.run(["resume", "1", "--epochs", "3"])
        expectCleanRefusal(output, "tampered checkpoint")
        #expect(output.stderr.contains("checkpoint is corrupt"), "\(output.stderr)")
        #expect(fileBytes(sandbox.database) == before)
    }

    // MARK: - Read-only files and directories, and a full disk (need root)

    static let isRoot = getuid() == 0

    @Test(.enabled(if: isRoot, "root ignores permission bits; an immutable file needs chattr as root"))
    func immutableDatabaseFileIsRefusedForWriting() throws {
        // Given a database made immutable (chattr +i holds even against root)
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "1"]).status == 0)
        try settle(sandbox)
        guard try shell("/usr/bin/env", ["chattr", "+i", sandbox.database]).status == 0 else {
            try Test.cancel("chattr +i is not supported here; immutable-file case skipped")
        }
        defer { _ = try? shell("/usr/bin/env", ["chattr", "-i", sandbox.database]) }
        let before = fileBytes(sandbox.database)

        // When train and resume try to write to it
        for command in [["train", "--epochs", "1", "--val-size", "200"], ["resume", "1", "--epochs", "2"]] {
            let output = try sandbox.run(command)

            // Then each refuses with "read-only", and the file is unchanged
            expectCleanRefusal(output, "immutable: \(command[0])")
            #expect(output.stderr.contains("read-only"), "\(output.stderr)")
        }
        #expect(fileBytes(sandbox.database) == before)
    }

    @Test(.enabled(if: isRoot, "mounting needs root (CAP_SYS_ADMIN)"))
    func databaseOnAReadOnlyMountIsRefusedForWriting() throws {
        // Given a database in a directory bind-mounted read-only
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "1"]).status == 0)
        try settle(sandbox)
        let source = sandbox.path("source")
        let mountPoint = sandbox.path("readonly")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: sandbox.database, toPath: "\(source)/runs.sqlite")
        guard try shell("/bin/mount", ["--bind", source, mountPoint]).status == 0 else {
            try Test.cancel("bind mounts are not permitted here; read-only mount case skipped")
        }
        defer { _ = try? shell("/bin/umount", [mountPoint]) }
        guard try shell("/bin/mount", ["-o", "remount,ro,bind", mountPoint]).status == 0 else {
            try Test.cancel("read-only remount not permitted; case skipped")
        }
        let database = "\(mountPoint)/runs.sqlite"
        let before = fileBytes(database)

        // When train and resume try to write there
        for command in [["train", "--epochs", "1", "--val-size", "200"], ["resume", "1", "--epochs", "2"]] {
            let output = try sandbox.run(command + ["--db", database])

            // Then each refuses, saying it is read-only
            expectCleanRefusal(output, "read-only mount: \(command[0])")
            #expect(output.stderr.contains("read-only") || output.stderr.contains("not writable"), "\(output.stderr)")
        }
        // And a new database in that directory is refused too
        let fresh = try sandbox.run(["train", "--epochs", "1", "--val-size", "200", "--db", "\(mountPoint)/new.sqlite"])
        expectCleanRefusal(fresh, "read-only mount: new database")
        #expect(fileBytes(database) == before)
    }

    @Test(.enabled(if: isRoot, "mounting a tmpfs needs root (CAP_SYS_ADMIN)"))
    func fullDiskFailsTheRunCleanlyAndKeepsEarlierEpochs() throws {
        // Given a database on a 2 MB tmpfs: room for a few epochs' checkpoints, not all
        let sandbox = try Sandbox()
        let mountPoint = sandbox.path("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        guard try shell("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]).status == 0
        else {
            try Test.cancel("tmpfs mounts are not permitted here; full-disk case skipped")
        }
        defer { _ = try? shell("/bin/umount", [mountPoint]) }
        let database = "\(mountPoint)/runs.sqlite"

        // When a run with every checkpoint kept fills it
        let output = try sandbox.run(
            ["train", "--epochs", "30", "--val-size", "200", "--batch-size", "50", "--keep-every", "1",
             "--seed", "11", "--db", database])

        // Then it fails with one line saying the disk is full
        expectCleanRefusal(output, "disk full")
        #expect(output.stderr.contains("full"), "\(output.stderr)")
        let epochs = Int(try sandbox.run(["sql", "--csv", "--db", database, "SELECT count(*) FROM epochs"]).lines.last ?? "") ?? -1
        #expect(epochs >= 1 && epochs < 30, "\(epochs) epochs recorded")

        // And once there is room again, the file is whole and the run resumes to the end
        #expect(try shell("/bin/mount", ["-o", "remount,size=64m", mountPoint]).status == 0)
        if let checked = try sqlite3(database, "PRAGMA integrity_check") {
            #expect(checked.output == "ok\n")
        }
        let listed = try sandbox.run(["runs", "--db", database])
        #expect(listed.status == 0, "\(listed.stderr)")
        let status = try sandbox.run(["sql", "--csv", "--db", database, "SELECT status FROM runs"]).lines.last
        #expect(status == "failed" || status == "interrupted", "\(status ?? "")")
        let resumed = try sandbox.run(["resume", "1", "--from", "last", "--db", database])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        print("HostileInputTests: disk full after \(epochs) of 30 epochs; resumed to the end")
    }

    // MARK: - Numeric options

    /// Values that must be refused before anything is written.
    static let refusedTrainOptions: [[String]] = [
        ["--epochs", "-1"], ["--epochs", "99999999999999999999"], ["--epochs", "nan"], ["--epochs", "1.5"],
        ["--learning-rate", "0"], ["--learning-rate", "inf"], ["--learning-rate", "-inf"],
        ["--learning-rate", "1e400"], ["--learning-rate", "-0"],
        ["--batch-size", "-1"], ["--batch-size", "99999999999999999999"], ["--batch-size", "inf"],
        ["--momentum=-0.1"], ["--momentum", "nan"], ["--momentum", "inf"], ["--momentum", "1e308"],
        // Training runs in Float32: these round to 1 (no decay) and to 0 or infinity.
        ["--momentum", "0.99999999"], ["--learning-rate", "1e-300"], ["--learning-rate", "1e39"],
        ["--keep-every=-1"], ["--keep-every", "nan"],
        ["--val-size=-1"], ["--val-size", "99999999999999999999"],
        ["--train-limit=-1"], ["--train-limit", "inf"],
        ["--seed=-1"], ["--seed", "18446744073709551616"], ["--seed", "nan"],
        ["--hidden", "0"], ["--hidden", "-5"], ["--hidden", "nan"], ["--hidden", "65537"],
        ["--hidden", "99999999999999999999"], ["--hidden", ""], ["--hidden", ","],
    ]

    /// Values that parse but that the data or the machine can't honour.
    static let impossibleTrainOptions: [([String], String)] = [
        (["--val-size", "1000000000"], "Validation size must be between 1 and 1199"),
        (["--val-size", "1200"], "Validation size must be between 1 and 1199"),
        (["--train-limit", "1000000000"], "Train limit must be between 1 and"),
        (["--hidden", "65536,65536"], "parameters"),
        (["--hidden", Array(repeating: "4096", count: 16).joined(separator: ",")], "parameters"),
        // A batch larger than the training set would silently be one smaller batch.
        (["--batch-size", "9223372036854775807"], "is larger than the 1000 training images"),
        (["--train-limit", "10"], "A batch of 200 examples is larger than the 10 training images"),
    ]

    @Test func extremeTrainOptionsAreRefusedOrHandled() throws {
        // Given a database with one run
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "1"]).status == 0)
        try settle(sandbox)
        let before = fileBytes(sandbox.database)

        // When train gets each out-of-range value, Then it is refused and nothing is written
        for option in Self.refusedTrainOptions {
            let output = try sandbox.run(["train", "--val-size", "200"] + option)
            expectCleanRefusal(output, "train \(option)")
            #expect(output.status == 64, "train \(option): \(output.status)")
        }
        for (option, message) in Self.impossibleTrainOptions {
            let output = try sandbox.run(["train", "--epochs", "1", "--val-size", "200"] + option)
            expectCleanRefusal(output, "train \(option)")
            #expect(output.stderr.contains(message), "train \(option): \(output.stderr)")
            #expect(output.status == 64, "train \(option): \(output.status)")
        }
        #expect(fileBytes(sandbox.database) == before)

        // And extreme values that are valid train normally
        for option in [
            ["--keep-every", "9223372036854775807"],
            ["--seed", "18446744073709551615"], ["--learning-rate", "1e-30"],
            ["--momentum", "0.999"], ["--train-limit", "1", "--batch-size", "1"], ["--val-size", "1"],
        ] {
            let output = try sandbox.run(["train", "--epochs", "1", "--val-size", "200"] + option)
            #expect(output.status == 0, "train \(option): \(output.stderr)")
        }
    }

    @Test func hugeEpochCountTrainsUntilStopped() throws {
        // Given a run planned for Int.max epochs
        let sandbox = try Sandbox()
        let process = try Background(
            sandbox, ["train", "--epochs", "9223372036854775807", "--val-size", "200", "--batch-size", "50"],
            label: "forever")

        // When it is stopped after its first epoch
        #expect(process.waitForLines("epoch "))
        process.send(SIGTERM)

        // Then it is interrupted cleanly, with that plan recorded
        #expect(process.wait() == .exit(143), "\(process.stderr)")
        #expect(try sandbox.rows("SELECT status, epochs FROM runs") == ["interrupted,9223372036854775807"])
    }

    @Test func extremeResumeArgumentsAreRefused() throws {
        // Given a finished three-epoch run
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "3", "--keep-every", "1"]).status == 0)
        try settle(sandbox)
        let before = fileBytes(sandbox.database)

        // When resume gets each bad run id, epoch or setting
        let cases: [([String], String)] = [
            (["resume", "0"], "There is no run 0"),
            (["resume", "9223372036854775807"], "There is no run 9223372036854775807"),
            (["resume", "99999999999999999999"], ""), (["resume", "--", "-1"], ""),
            (["resume", "abc"], ""), (["resume", "nan"], ""), (["resume", "1.0"], ""),
            (["resume", "1", "--from", "0"], ""), (["resume", "1", "--from=-1"], ""),
            (["resume", "1", "--from", "nan"], ""),
            (["resume", "1", "--from", "99999999999999999999"], ""),
            (["resume", "1", "--from", "9223372036854775807"], "has no epoch 9223372036854775807"),
            (["resume", "1", "--from", "2", "--epochs", "2", "--momentum", "0.5"], "Pass a larger --epochs"),
            (["resume", "1", "--epochs", "-3"], ""), (["resume", "1", "--learning-rate", "inf"], ""),
            (["resume", "1", "--learning-rate", "0"], ""), (["resume", "1", "--momentum", "1"], ""),
            (["resume", "1", "--batch-size", "0"], ""), (["resume", "1", "--keep-every", "0"], ""),
            (["resume", "1", "--name", ""], ""), (["resume", "1", "--epochs", "5", "--data", "/nonexistent"], "Cannot find"),
            (["show", "0"], "There is no run 0"), (["best", "--", "-1"], ""),
            (["compare", "1", "99999999999999999999"], ""),
        ]
        for (command, message) in cases {
            let output = try sandbox.run(command)

            // Then each is one clear line, and the database is untouched
            expectCleanRefusal(output, "\(command)")
            #expect(message.isEmpty || output.stderr.contains(message), "\(command): \(output.stderr)")
        }
        #expect(fileBytes(sandbox.database) == before)

        // And a batch size above the training images is refused before anything is written
        let fork = try sandbox.run(["resume", "1", "--batch-size", "9223372036854775807", "--epochs", "4"])
        expectCleanRefusal(fork, "huge batch")
        #expect(fork.status == 64 && fork.stderr.contains("is larger than the 1000 training images"), "\(fork.stderr)")
        #expect(fileBytes(sandbox.database) == before)
    }

    // MARK: - sql

    @Test func sqlRefusesEveryKindOfWrite() throws {
        // Given a database with a run (ErrorTests covers DELETE, UPDATE, DROP, ATTACH,
        // writable_schema and CREATE TABLE)
        let sandbox = try Sandbox()
        #expect(try sandbox.train(["--epochs", "1"]).status == 0)
        try settle(sandbox)
        let before = fileBytes(sandbox.database)
        let elsewhere = sandbox.path("copy.sqlite")

        for statement in [
            "VACUUM INTO '\(elsewhere)'", "VACUUM", "INSERT INTO runs (id) VALUES (99)",
            "REPLACE INTO schema_migrations VALUES (1, 'x', 'y')",
            "WITH doomed AS (SELECT id FROM runs) DELETE FROM runs WHERE id IN doomed",
            "PRAGMA user_version = 7", "PRAGMA journal_mode = DELETE", "PRAGMA wal_checkpoint(TRUNCATE)",
            "PRAGMA application_id = 0", "PRAGMA foreign_keys = OFF", "PRAGMA schema_version = 1",
            "PRAGMA writable_schema = ON", "PRAGMA optimize", "PRAGMA incremental_vacuum",
            "BEGIN IMMEDIATE", "COMMIT", "SAVEPOINT s", "REINDEX", "ANALYZE",
            "ALTER TABLE runs ADD COLUMN x", "CREATE TEMP TABLE t(x)", "CREATE INDEX i ON runs(name)",
            "CREATE VIEW v AS SELECT 1", "CREATE TRIGGER t AFTER INSERT ON runs BEGIN SELECT 1; END",
            "DETACH DATABASE main", "DROP VIEW run_summary",
            "SELECT 1; DELETE FROM runs", "SELECT load_extension('/tmp/nothing')",
            "ATTACH ':memory:' AS m", "",
        ] {
            let output = try sandbox.run(["sql", statement])
            expectCleanRefusal(output, "sql \(statement)")
        }
        #expect(fileBytes(sandbox.database) == before)
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
        #expect(try sandbox.value("SELECT count(*) FROM runs") == "1")
    }
}
