import Foundation
import TestSupport
import Testing

/// `sweep --slurm N`: the sbatch script of a job array whose tasks are the sweep's workers,
/// written without the store's password, refused for an SQLite store.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct SlurmScriptTests {
    static let grid = [
        "sweep", "--learning-rate", "0.05,0.1", "--hidden", "16", "--epochs", "2",
        "--val-size", "200", "--batch-size", "50",
    ]

    @Test func slurmIsRefusedForAnSQLiteStore() throws {
        // Given a sandbox whose store is an SQLite file
        let sandbox = try Sandbox()

        // When a Slurm script is asked for
        let output = try sandbox.run(Self.grid + ["--detach", "--slurm", "2"])

        // Then one line says why, exit 64, and nothing was created
        #expect(output.status == 64)
        #expect(output.stderr == "Error: --slurm needs a PostgreSQL store (--db or MNISTLAB_DB set to a postgres:// URL): an SQLite file's locks do not hold on a cluster's network file system.\n")
        #expect(output.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func badSlurmValuesAreRefusedBeforeAnythingIsWritten() throws {
        let sandbox = try Sandbox()
        for (arguments, message) in [
            (["--slurm", "0"], "Error: --slurm must be from 1 to 1000 (array tasks); got 0."),
            (["--slurm", "1001"], "Error: --slurm must be from 1 to 1000 (array tasks); got 1001."),
            (["--slurm", "2", "--slurm-option", "partition=short"], "Error: --slurm-option 'partition=short' is not one sbatch option: it does not start with '-'; give e.g. --partition=short."),
            (["--slurm", "2", "--slurm-option", "--comment=x\n#SBATCH --wrap=id"], "Error: --slurm-option '--comment=x\\n#SBATCH --wrap=id' is not one sbatch option: it holds a line break or another control character; give e.g. --partition=short."),
            (["--slurm", "2", "-o", ""], "Error: -o cannot be empty; give a file path, or - for standard output."),
            (["-o", "x.sbatch"], "Error: -o, --slurm-option and --submit go with --slurm N."),
            (["--submit"], "Error: -o, --slurm-option and --submit go with --slurm N."),
            (["--slurm", "2", "--parallel", "2"], "Error: --parallel and --resume start local workers; with --slurm the job array's tasks are the workers."),
        ] {
            let output = try sandbox.run(Self.grid + arguments)
            #expect(output.status == 64, "\(arguments)")
            #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            #expect(output.stderr.split(separator: "\n").count == 1, "\(arguments): \(output.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("x.sbatch")))
    }

    @Test(.enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)"))
    func scriptRunsTheSweepsWorkersWithoutThePassword() throws {
        // Given a PostgreSQL store whose URL holds a password
        let sandbox = try Sandbox(.postgres)
        let server = try PostgresServer.shared
        let file = sandbox.path("sweep.sbatch")

        // When a 2-task script is written with an option of the user's
        let output = try sandbox.run(
            Self.grid + ["--detach", "--slurm", "2", "-o", file, "--slurm-option", "--partition=short"])

        // Then it says what it wrote, and the script has the array, the requeue, per-task
        // logs appended to, the option, and the worker by absolute path with the data
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.hasPrefix("sweep 1: 2 trials of 2 epochs for a Slurm job array of 2 workers: wrote \(file);"), "\(output.stdout)")
        let script = try String(contentsOfFile: file, encoding: .utf8)
        let directives = script.split(separator: "\n").filter { $0.hasPrefix("#SBATCH ") }
        #expect(directives == [
            "#SBATCH --job-name=mnistlab-sweep-1", "#SBATCH --array=1-2", "#SBATCH --requeue",
            "#SBATCH --open-mode=append", "#SBATCH --output=mnistlab-sweep-1-%A_%a.out",
            "#SBATCH --export=ALL", "#SBATCH --partition=short",
        ])
        #expect(script.contains("\nexec '\(mnistlabBinary)' 'worker' '--sweep' '1' '--data' '\(smallMNIST)'\n"), "\(script)")
        #expect(!script.contains(server.password))
        #expect(script.contains("store='postgres://mnistlab@127.0.0.1:\(server.port)/"), "\(script)")

        // And bash reads it
        let bash = try sandbox.run(["-n", file], executable: "/bin/bash")
        #expect(bash.status == 0, "\(bash.stderr)")

        // And without -o the script alone is on standard output, the sweep on standard error
        let printed = try sandbox.run(Self.grid + ["--seed", "2", "--slurm", "1"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.hasPrefix("#!/bin/bash\n"))
        #expect(printed.stdout.contains("#SBATCH --array=1-1\n"))
        #expect(printed.stderr.hasPrefix("note: sweep 2: 2 trials"), "\(printed.stderr)")
    }

    @Test(.enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)"))
    func scriptTakesThePasswordFromPgpassAndRecordsTheJob() throws {
        // Given the script of a 2-trial sweep, and a ~/.pgpass-style file with the password
        let sandbox = try Sandbox(.postgres)
        let server = try PostgresServer.shared
        let file = sandbox.path("sweep.sbatch")
        #expect(try sandbox.run(Self.grid + ["--slurm", "1", "-o", file]).status == 0)
        let passfile = sandbox.path("pgpass")
        try "# host:port:database:user:password\n127.0.0.1:\(server.port):*:\(server.user):\(server.password)\n"
            .write(toFile: passfile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile)

        // When it runs as Slurm would run task 1 of array job 41, with no MNISTLAB_DB
        var environment = ["PGPASSFILE": passfile, "MNISTLAB_DB": ""]
        environment.merge([
            "SLURM_JOB_ID": "42", "SLURM_ARRAY_JOB_ID": "41", "SLURM_ARRAY_TASK_ID": "1",
            "SLURMD_NODENAME": "node7",
        ]) { $1 }
        let job = try sandbox.run([file], environment: environment, executable: "/bin/bash")

        // Then the worker reached the store with the file's password and trained the sweep,
        // recording the job on each trial
        #expect(job.status == 0, "\(job.stdout)\n\(job.stderr)")
        #expect(job.stdout.hasPrefix("mnistlab sweep 1: job 42, array task 1 on node7, restart 0\n"), "\(job.stdout)")
        #expect(try sandbox.rows("SELECT number, status, job_id, array_job_id, array_task_id, node FROM trials ORDER BY number")
            == ["1,completed,42,41,1,node7", "2,completed,42,41,1,node7"])
        let shown = try sandbox.run(["sweeps", "1"])
        #expect(shown.lines.filter { $0.contains("completed") && $0.contains("41_1 on node7") }.count == 2, "\(shown.stdout)")

        // And a file others may read is ignored, as libpq ignores it
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passfile)
        let refused = try sandbox.run([file], environment: environment, executable: "/bin/bash")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no password supplied"), "\(refused.stderr)")
    }

    @Test(.enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)"))
    func unwritableScriptCreatesNothingAndAFullDiskIsNotASuccess() throws {
        // Given a PostgreSQL store
        let sandbox = try Sandbox(.postgres)

        // When -o names a file in a directory that does not exist
        let missing = try sandbox.run(Self.grid + ["--slurm", "2", "-o", sandbox.path("no/such.sbatch")])

        // Then one line says so, and no sweep was created
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: Cannot write \(sandbox.path("no/such.sbatch")): No such file or directory. Nothing was created.\n")
        #expect(Self.sweepsTable(in: sandbox) == "t\n")

        // When the script goes to a full disk
        let full = try sandbox.run(Self.grid + ["--slurm", "2", "-o", "/dev/full"])

        // Then that is an error too, which says the sweep exists
        #expect(full.status == 1)
        #expect(full.stderr == "Error: Cannot write /dev/full: No space left on device. Sweep 1 was created all the same; `mnistlab worker --sweep 1` trains it.\n")
    }

    /// "t\n" when the sandbox's PostgreSQL database has no `sweeps` table (nothing was ever
    /// written to it).
    static func sweepsTable(in sandbox: Sandbox) -> String? {
        let name = sandbox.database.split(separator: "/").last?.split(separator: "?").first.map(String.init) ?? ""
        return try? PostgresServer.shared.psql("SELECT to_regclass('sweeps') IS NULL", database: name)
    }

    @Test(.enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)"))
    func submitWithoutSbatchCreatesNothing() throws {
        // Given a machine without Slurm's commands on PATH
        let sandbox = try Sandbox(.postgres)

        // When the script is to be submitted
        let output = try sandbox.run(
            Self.grid + ["--slurm", "2", "--submit"], environment: ["PATH": "/nonexistent"])

        // Then one line says so, and no sweep was created
        #expect(output.status == 1)
        #expect(output.stderr.hasPrefix("Error: --submit needs Slurm's sbatch on PATH"), "\(output.stderr)")
        #expect(Self.sweepsTable(in: sandbox) == "t\n")
    }
}
