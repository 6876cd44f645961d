import ArgumentParser
import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// `sweep --slurm N [-o FILE] [--slurm-option OPT …] [--submit]`: the sweep's workers as a
/// Slurm job array instead of local processes (docs/sweeps.md: "Sweeps on a Slurm cluster").
struct SlurmOptions: ParsableArguments {
    @Option(
        name: .customLong("slurm"), parsing: .unconditional,
        help: ArgumentHelp(
            "Write an sbatch script for a Slurm job array of N workers instead of training here (implies --detach; needs a PostgreSQL store).",
            valueName: "n"))
    var tasks: Int?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "File to write the sbatch script to ('-' or none: standard output).",
            valueName: "file"))
    var output: String?

    @Option(
        name: .customLong("slurm-option"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "An sbatch option to add to the script, e.g. --partition=short (repeatable).",
            valueName: "option"))
    var options: [String] = []

    @Flag(name: .long, help: "Also submit the script with sbatch and print the job id.")
    var submit = false

    /// Slurm's default MaxArraySize is 1001: array indices 0…1000.
    static let maxTasks = 1_000

    func validate(_ database: DatabaseOptions) throws {
        guard let tasks else {
            if output != nil || !options.isEmpty || submit {
                throw ValidationError("-o, --slurm-option and --submit go with --slurm N.")
            }
            return
        }
        guard (1...Self.maxTasks).contains(tasks) else {
            throw ValidationError(
                "--slurm must be from 1 to \(Self.maxTasks) (array tasks); got \(tasks).")
        }
        try Check.notEmpty(output, "-o")
        for option in options {
            if let problem = SlurmScript.problem(option: option) {
                throw ValidationError(
                    "--slurm-option \(Check.quoted(option)) is not one sbatch option: \(problem); give e.g. --partition=short.")
            }
        }
        guard Store.isURL(try database.location) else {
            throw ValidationError(
                "--slurm needs a PostgreSQL store (--db or MNISTLAB_DB set to a postgres:// URL): an SQLite file's locks do not hold on a cluster's network file system.")
        }
    }

    /// The script for sweep `sweepID` (0 for a trial submission before the sweep exists).
    func script(sweepID: Int64, data: String, location: String) -> SlurmScript {
        SlurmScript(
            sweepID: sweepID, tasks: tasks ?? 1, executable: executablePath(), data: data,
            store: Store.shown(location), options: options)
    }

    /// What can be checked before the sweep exists, so that a failure creates nothing: that
    /// -o can be written, and with --submit sbatch's verdict on the script (`sbatch
    /// --test-only`: a bad option, an unreachable controller).
    func checkBeforeCreating(data: String, location: String) throws {
        if let output, output != "-" {
            let fd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw MNISTLabError("Cannot write \(output): \(systemError(errno)). Nothing was created.")
            }
            close(fd)
        }
        guard submit else { return }
        _ = try Sbatch(location: location).run(
            script(sweepID: 0, data: data, location: location).text, file: nil, testOnly: true)
    }

    /// Writes the script of the new sweep (to -o, else standard output unless submitted),
    /// submits it with --submit, and says what happened.
    func deliver(sweep: Int64, trials: Int, epochs: Int, data: String, location: String, json: Bool)
        throws
    {
        let text = script(sweepID: sweep, data: data, location: location).text
        let file = output == "-" ? nil : output
        var jobID: String?
        do {
            if let file {
                try write(text, to: file)
            } else if !submit && !json {
                try write(text, to: nil)
            }
            if submit { jobID = try Sbatch(location: location).run(text, file: file, testOnly: false) }
        } catch let error as MNISTLabError {
            throw MNISTLabError.sweepCreatedAllTheSame(sweep, after: error)
        }
        if json {
            struct SlurmJSON: Encodable {
                var sweep_id: Int64, trials: Int, tasks: Int, script_file: String?
                var script: String?, job_id: String?
            }
            return try printJSON(
                SlurmJSON(
                    sweep_id: sweep, trials: trials, tasks: tasks ?? 1, script_file: file,
                    script: file == nil ? text : nil, job_id: jobID))
        }
        let what = "sweep \(sweep): \(trials) trial\(trials == 1 ? "" : "s") of \(epochs) epoch\(epochs == 1 ? "" : "s") for a Slurm job array of \(tasks ?? 1) worker\(tasks == 1 ? "" : "s")"
        if let jobID {
            print("\(what): submitted batch job \(jobID)\(file.map { " (script in \($0))" } ?? "")")
        } else if let file {
            print("\(what): wrote \(file); `sbatch \(file)` submits it, with MNISTLAB_DB exported or a ~/.pgpass entry on the nodes")
        } else {
            printStandardError("note: \(what); the sbatch script is above")
        }
    }
}

/// Slurm's `sbatch`, found on PATH, run with the store's full location in MNISTLAB_DB (its
/// environment becomes the job's), never on a command line or in the script.
struct Sbatch {
    var location: String

    /// Submits `text` (from `file` when it was written there, so the job records its path),
    /// or with `testOnly` only asks whether it would be accepted; returns the job id.
    func run(_ text: String, file: String?, testOnly: Bool) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/sbatch" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            throw MNISTLabError(
                "--submit needs Slurm's sbatch on PATH, and there is none; without --submit, -o FILE writes the script to submit elsewhere. Nothing was created.")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = (testOnly ? ["--test-only"] : ["--parsable"]) + (file.map { [$0] } ?? [])
        var environment = ProcessInfo.processInfo.environment
        environment["MNISTLAB_DB"] = location
        process.environment = environment
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw MNISTLabError("Cannot run \(path): \(error.localizedDescription).")
        }
        if file == nil { try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8)) }
        try? input.fileHandleForWriting.close()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let reason = complaint.split(whereSeparator: \.isNewline).last.map(String.init) ?? "exit \(process.terminationStatus)"
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw MNISTLabError(
                testOnly
                    ? "sbatch refuses the job script: \(reason). Nothing was created."
                    : "sbatch refused the job script: \(reason).")
        }
        if testOnly { return "" }
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        let jobID = printed.split(whereSeparator: { $0 == ";" || $0.isNewline }).first.map(String.init) ?? ""
        guard !jobID.isEmpty, jobID.allSatisfy(\.isNumber) else {
            throw MNISTLabError("sbatch printed no job id (\(Check.quoted(printed))); `squeue --me` shows whether the job was submitted.")
        }
        return jobID
    }
}
