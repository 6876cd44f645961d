import ArgumentParser
import Foundation
import Store

extension MNISTLab {
    struct Sweeps: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sweeps with their trials' progress, or rank one sweep's runs.",
            discussion: """
                Without an id: every sweep, newest first, with its trials pending, running, \
                completed and failed, the workers holding trials and an estimate of the time \
                left. With an id: its trials (with the Slurm job and array task of the worker \
                holding each, or that last held it), then its runs ranked by best validation \
                loss.

                Examples:
                  mnistlab sweeps
                  mnistlab sweeps 3 --json
                """)

        @Argument(help: "Id of a sweep to show.")
        var sweepID: Int64?

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openForReading()
            let progress = try store.sweepProgress(id: sweepID)
            if let sweepID {
                guard let sweep = progress.first else {
                    throw MNISTLabError("There is no sweep \(sweepID) in this database; `mnistlab sweeps` lists them.")
                }
                let trials = try store.trials(sweepID: sweepID)
                let ranking = try store.summaries(sweepID: sweepID)
                if output.json {
                    return try printJSON(
                        SweepJSON(progress: SweepProgressJSON(sweep), trials: trials.map(TrialJSON.init), ranking: ranking))
                }
                print(try overview([sweep], store).render())
                var table = Table(
                    ["trial", "status", "run", "attempts", "worker", "job", "settings", "failure"],
                    numeric: [0, 2, 3])
                for t in trials {
                    table.append([
                        "\(t.number)", t.status.rawValue, t.runID.map(String.init) ?? "-",
                        "\(t.attempts)", t.worker ?? "", t.job?.label ?? "", trialLabel(t),
                        t.failureReason ?? "",
                    ])
                }
                print("\n" + table.render())
                var ranked = Table(
                    ["rank", "run", "status", "best epoch", "best val loss", "best val acc"],
                    numeric: [0, 1, 3, 4, 5])
                for (k, s) in ranking.enumerated() {
                    ranked.append([
                        "\(k + 1)", "\(s.run.id)", s.run.status.rawValue,
                        s.bestEpoch.map(String.init) ?? "-", Format.loss(s.bestValLoss),
                        Format.percent(s.bestValAccuracy),
                    ])
                }
                print("\nranked by best validation loss:\n" + ranked.render())
                return
            }
            if output.json { return try printJSON(progress.map(SweepProgressJSON.init)) }
            print(progress.isEmpty ? "No sweeps yet; `mnistlab sweep` starts one." : try overview(progress, store).render())
        }

        private func overview(_ progress: [SweepProgress], _ store: Store) throws -> Table {
            var table = Table(
                ["sweep", "trials", "pending", "running", "completed", "failed", "time left", "workers"],
                numeric: [0, 1, 2, 3, 4, 5])
            for p in progress {
                table.append([
                    "\(p.sweep.id)", "\(p.sweep.size)", "\(p.pending)", "\(p.running)",
                    "\(p.completed)", "\(p.failed)",
                    timeLeft(p, plannedEpochs: try store.trials(sweepID: p.sweep.id).map(plannedEpochs).reduce(0, +)),
                    p.workers.joined(separator: " "),
                ])
            }
            return table
        }

        /// The varied settings of the trial, from its run name ("sweep-1/lr=0.1,…").
        private func trialLabel(_ trial: TrialRecord) -> String {
            let name = trial.argument("--name") ?? ""
            return name.split(separator: "/", maxSplits: 1).last.map(String.init) ?? ""
        }
    }
}

/// Seconds per epoch so far times the epochs left, shared by the workers now holding trials
/// ("?" before the first epoch or with no worker; early stopping makes it an upper bound).
func timeLeft(_ p: SweepProgress, plannedEpochs: Int) -> String {
    guard !p.isFinished else { return "-" }
    guard p.epochsDone > 0, p.running > 0 else { return "?" }
    let perEpoch = p.secondsSoFar / Double(p.epochsDone)
    let left = Double(max(plannedEpochs - p.epochsDone, 0)) * perEpoch / Double(p.running)
    return Format.seconds(left)
}

/// The epochs a trial plans (its `--epochs`), for the estimate above.
private func plannedEpochs(_ trial: TrialRecord) -> Int {
    trial.argument("--epochs").flatMap { Int($0) } ?? 0
}

private struct SweepProgressJSON: Encodable {
    var id: Int64
    var created_at: String
    var grid: String
    var trials: Int
    var pending: Int
    var running: Int
    var completed: Int
    var failed: Int
    var workers: [String]

    init(_ p: SweepProgress) {
        id = p.sweep.id
        created_at = p.sweep.createdAt
        grid = p.sweep.grid
        trials = p.sweep.size
        pending = p.pending
        running = p.running
        completed = p.completed
        failed = p.failed
        workers = p.workers
    }
}

private struct TrialJSON: Encodable {
    var number: Int
    var status: String
    var run_id: Int64?
    var attempts: Int
    var worker: String?
    var failure_reason: String?
    var job_id: Int64?
    var array_job_id: Int64?
    var array_task_id: Int64?
    var node: String?
    var arguments: [String]

    init(_ t: TrialRecord) {
        number = t.number
        status = t.status.rawValue
        run_id = t.runID
        attempts = t.attempts
        worker = t.worker
        failure_reason = t.failureReason
        job_id = t.jobID
        array_job_id = t.arrayJobID
        array_task_id = t.arrayTaskID
        node = t.node
        arguments = t.arguments
    }
}

private struct SweepJSON: Encodable {
    var progress: SweepProgressJSON
    var trials: [TrialJSON]
    var ranking: [RunSummary]
}
