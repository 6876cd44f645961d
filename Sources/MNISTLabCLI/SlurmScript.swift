/// The sbatch script that trains a sweep as a Slurm job array (`mnistlab sweep --slurm N`):
/// each array task is one `mnistlab worker --sweep ID`, so the trials are shared out, handed
/// over and resumed exactly as between any workers (docs/sweeps.md: "Sweeps on a Slurm cluster").
import Foundation

struct SlurmScript: Equatable {
    var sweepID: Int64
    /// Array tasks, one worker each: `--array=1-N`.
    var tasks: Int
    /// The `mnistlab` binary's absolute path, the same build on every node.
    var executable: String
    /// The MNIST directory the workers read.
    var data: String
    /// The store's URL without its password: the job's store when the environment sbatch ran
    /// in has no MNISTLAB_DB, with the password then from the nodes' ~/.pgpass.
    var store: String
    /// More `#SBATCH` options, as given (`--partition=gpu`), after the script's own so that
    /// they win where they repeat one.
    var options: [String] = []

    /// Why `option` cannot be an `#SBATCH` line, or nil: it must be one option, starting with
    /// '-', on one line.
    static func problem(option: String) -> String? {
        if !option.hasPrefix("-") { return "it does not start with '-'" }
        if option.unicodeScalars.contains(where: Check.isControl) {
            return "it holds a line break or another control character"
        }
        return nil
    }

    /// The script. Every value that reaches the shell is single-quoted; the password never
    /// appears, since `store` has none.
    var text: String {
        let name = "mnistlab-sweep-\(sweepID)"
        let worker = [executable, "worker", "--sweep", "\(sweepID)", "--data", data]
            .map(Self.quoted).joined(separator: " ")
        let header = [
            "--job-name=\(name)", "--array=1-\(tasks)",
            // Preemption and node failure put a task back in the queue; it then continues
            // the trial it gave back, or another.
            "--requeue",
            // A requeued task adds to its log instead of replacing it.
            "--open-mode=append", "--output=\(name)-%A_%a.out",
            // The environment sbatch runs in, MNISTLAB_DB included, reaches the job.
            "--export=ALL",
        ] + options
        return """
            #!/bin/bash
            # mnistlab sweep \(sweepID) as a Slurm job array: each task runs one worker, which
            # claims trials from the store until the sweep has nothing left to do.
            \(header.map { "#SBATCH \($0)" }.joined(separator: "\n"))
            #
            # The store is MNISTLAB_DB as exported where sbatch ran (`mnistlab sweep --submit`
            # passes it), else \(store),
            # whose password comes from ~/.pgpass (or PGPASSFILE) on the nodes. No password is
            # written here.
            #
            # On SIGTERM (time limit, preemption, scancel, scontrol requeue) or SIGUSR1 (e.g.
            # --signal=B:USR1@60) the worker stops between batches, gives its trial back with
            # the epochs it committed, and exits 0; another task, or this one requeued,
            # continues the trial exactly.
            set -euo pipefail
            store=\(Self.quoted(store))
            export MNISTLAB_DB="${MNISTLAB_DB:-$store}"
            case "$MNISTLAB_DB" in
                postgres://* | postgresql://*) ;;
                *)
                    echo "mnistlab sweep \(sweepID): MNISTLAB_DB must be the sweep's postgres:// URL; an SQLite file's locks do not hold on a cluster's network file system." >&2
                    exit 64
                    ;;
            esac
            echo "mnistlab sweep \(sweepID): job ${SLURM_JOB_ID:-?}, array task ${SLURM_ARRAY_TASK_ID:-?} on ${SLURMD_NODENAME:-$(hostname)}, restart ${SLURM_RESTART_COUNT:-0}"
            exec \(worker)

            """
    }

    /// `text` as one shell word: single-quoted, a quote inside written '\''.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
