import ArgumentParser
import Foundation
import Reports
import Store
import Sweeps

extension MNISTLab {
    struct Sweeps: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sweeps with their trials' progress, or rank one sweep's runs.",
            discussion: """
                Without an id: every sweep, newest first, with its trials pending, running, \
                completed and failed, the workers holding trials and an estimate of the time \
                left. With an id: its trials (with the Slurm job and array task of the worker \
                holding each, or that last held it), then its runs ranked by best validation \
                loss, then what it found: each varying setting's importance for best \
                validation loss (fANOVA over a random forest), the best value found for each, \
                and, where the sweep varies --seed, each configuration's mean ± standard \
                deviation over its seeds, ranked by mean.

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
                guard let sweep = progress.first else { throw SweepError.unknownSweep(sweepID) }
                let trials = try store.trials(sweepID: sweepID)
                let ranking = try store.summaries(sweepID: sweepID)
                let findings = SweepFindings(grid: sweep.sweep.grid, trials: trials, summaries: ranking)
                if output.json {
                    let rungs = try store.sweepState(id: sweepID)?.rungs ?? []
                    return try printJSON(
                        SweepJSON(
                            progress: SweepProgressJSON(sweep),
                            trials: trials.map { t in TrialJSON(t, rungs: rungs.filter { $0.trialID == t.id }) },
                            ranking: ranking, findings: FindingsJSON(findings)))
                }
                print(try overview([sweep], store).render())
                if let line = ashaLine(sweep) { print(line) }
                let asha = sweep.sweep.search.reductionFactor != nil
                var table = Table(
                    ["trial", "status"] + (asha ? ["rung"] : [])
                        + ["run", "attempts", "worker", "job", "settings", "failure"],
                    numeric: asha ? [0, 2, 3, 4] : [0, 2, 3])
                for t in trials {
                    table.append(
                        ["\(t.number)", t.status.rawValue]
                            + (asha ? [t.rung.map(String.init) ?? "-"] : [])
                            + [
                                t.runID.map(String.init) ?? "-", "\(t.attempts)", t.worker ?? "",
                                t.job?.label ?? "", (try? t.decodedSettings().label) ?? "",
                                t.failureReason ?? "",
                            ])
                }
                print("\n" + table.render())
                print(
                    "\nranked by best validation loss:\n"
                        + rankingTable(ranking, trials: trials).render())
                print("\n" + findingsText(findings))
                return
            }
            if output.json { return try printJSON(progress.map(SweepProgressJSON.init)) }
            print(progress.isEmpty ? "No sweeps yet; `mnistlab sweep` starts one." : try overview(progress, store).render())
        }

        /// One row per sweep; with an ASHA sweep among them, its paused and pruned trials too.
        private func overview(_ progress: [SweepProgress], _ store: Store) throws -> Table {
            let asha = progress.contains { $0.sweep.search.reductionFactor != nil }
            let counts = ["pending", "running", "completed", "failed"] + (asha ? ["paused", "pruned"] : [])
            var table = Table(
                ["sweep", "trials"] + counts + ["time left", "workers"],
                numeric: Set(0..<(2 + counts.count)))
            for p in progress {
                table.append(
                    ["\(p.sweep.id)", "\(p.sweep.size)", "\(p.pending)", "\(p.running)", "\(p.completed)", "\(p.failed)"]
                        + (asha ? ["\(p.paused)", "\(p.pruned)"] : [])
                        + [
                            timeLeft(p, plannedEpochs: try store.trials(sweepID: p.sweep.id).map(plannedEpochs).reduce(0, +)),
                            p.workers.joined(separator: " "),
                        ])
            }
            return table
        }
    }
}

/// An ASHA sweep's rungs and the epochs it trained against what full training of every trial
/// would take; nil for a sweep without ASHA.
func ashaLine(_ p: SweepProgress) -> String? {
    guard let ladder = try? p.sweep.search.ladder, let full = p.fullTrainingEpochs else {
        return nil
    }
    let share = full > 0 ? " (\(Int((100 * Double(p.epochsDone) / Double(full)).rounded()))%)" : ""
    return "ASHA, η = \(ladder.reductionFactor), rungs at \(ladder.epochs.map(String.init).joined(separator: ", ")) epochs: \(Format.count(p.epochsDone, "epoch")) trained of the \(full) that training every trial fully would take\(share)"
}

/// A sweep's runs ranked by best validation loss, with a column for each swept setting (and
/// each run's ASHA rung and trial state, in an ASHA sweep).
func rankingTable(_ ranking: [RunSummary], trials: [TrialRecord]) -> Table {
    let swept = SweptSetting.shown(for: trials.compactMap { try? $0.decodedSettings() })
    var columns = swept.flatMap(rankingColumns)
    if trials.contains(where: { $0.rung != nil }) {
        columns.append((
            "rung",
            { s in s.rung.map { "\($0) \(s.trialStatus?.rawValue ?? "")" } ?? "-" }
        ))
    }
    var table = Table(
        ["rank", "run", "status"] + columns.map(\.title) + [
            "best epoch", "best val loss", "best val acc",
        ],
        numeric: Set([0, 1] + (0..<3).map { 3 + columns.count + $0 }))
    for (k, s) in ranking.enumerated() {
        table.append(
            ["\(k + 1)", "\(s.run.id)", s.run.status.rawValue]
                + columns.map { $0.value(s) }
                + [
                    s.bestEpoch.map(String.init) ?? "-", Format.loss(s.bestValLoss),
                    Format.percent(s.bestValAccuracy),
                ])
    }
    return table
}

/// The ranking's columns for a swept setting (patience also shows where it stopped).
private func rankingColumns(_ setting: SweptSetting)
    -> [(title: String, value: (RunSummary) -> String)]
{
    switch setting {
    case .learningRate: [("lr", { Format.number($0.run.learningRate) })]
    case .hidden: [("hidden", { $0.run.hidden })]
    case .activation: [("activation", { $0.run.activation })]
    case .loss: [("loss", { $0.run.loss })]
    case .momentum: [("momentum", { Format.number($0.run.momentum) })]
    case .batchSize: [("batch", { "\($0.run.batchSize)" })]
    case .seed: [("seed", { Format.seed($0.run.seed) })]
    case .weightDecay: [("weight decay", { Format.number($0.run.weightDecay) })]
    case .lrSchedule: [("schedule", { $0.run.lrSchedule })]
    case .minLearningRate: [("min lr", { Format.number($0.run.minLearningRate) })]
    case .patience:
        [
            ("patience", { $0.run.patience.map(String.init) ?? "-" }),
            ("stopped", { $0.stoppedEarlyAt.map { "at \($0)" } ?? "-" }),
        ]
    case .minDelta: [("min delta", { Format.number($0.run.minDelta) })]
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

/// The epochs a trial plans, for the estimate above.
private func plannedEpochs(_ trial: TrialRecord) -> Int {
    (try? trial.decodedSettings().hyperparameters.epochs) ?? 0
}

extension SweepProgress {
    /// The epochs training every trial fully would take (its size times `--epochs`), against
    /// which an ASHA sweep's epochs trained are told; nil for a sweep that did not record it.
    var fullTrainingEpochs: Int? { sweep.search.epochs.map { sweep.size * $0 } }
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
    var paused: Int
    var pruned: Int
    var workers: [String]
    /// ASHA's rungs and the epochs spent against full training; absent without ASHA.
    var asha: AshaJSON?

    init(_ p: SweepProgress) {
        id = p.sweep.id
        created_at = p.sweep.createdAt
        grid = p.sweep.grid
        trials = p.sweep.size
        pending = p.pending
        running = p.running
        completed = p.completed
        failed = p.failed
        paused = p.paused
        pruned = p.pruned
        workers = p.workers
        asha = AshaJSON(p)
    }
}

private struct AshaJSON: Encodable {
    var reduction_factor: Int
    /// Each rung's epoch, from rung 0; the last is --epochs.
    var rungs: [Int]
    var epochs_trained: Int
    var full_training_epochs: Int

    init?(_ p: SweepProgress) {
        guard let ladder = try? p.sweep.search.ladder, let full = p.fullTrainingEpochs else {
            return nil
        }
        reduction_factor = ladder.reductionFactor
        rungs = ladder.epochs
        epochs_trained = p.epochsDone
        full_training_epochs = full
    }
}

/// A rung a trial reached: its epoch, the validation loss ranked there, and when it was
/// reached and promoted from (null: not promoted).
private struct RungJSON: Encodable {
    var rung: Int
    var epoch: Int
    var val_loss: Double
    var reached_at: String
    var promoted_at: String?

    init(_ r: TrialRung) {
        rung = r.rung
        epoch = r.epoch
        val_loss = r.valLoss
        reached_at = r.reachedAt
        promoted_at = r.promotedAt
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rung, forKey: .rung)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(val_loss, forKey: .val_loss)
        try c.encode(reached_at, forKey: .reached_at)
        try c.encode(promoted_at, forKey: .promoted_at)
    }

    enum CodingKeys: String, CodingKey { case rung, epoch, val_loss, reached_at, promoted_at }
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
    /// The trial's typed settings, as `trials.settings` stores them.
    var settings: TrialSettings?
    /// ASHA: the last rung it reached (null before its first, or without ASHA), how many
    /// times it was promoted, and every rung it reached. Its status says whether it is
    /// paused at its rung, pruned there, or completed at the last.
    var rung: Int?
    var promotions: Int
    var rungs: [RungJSON]

    init(_ t: TrialRecord, rungs: [TrialRung]) {
        rung = t.rung
        promotions = rungs.filter { $0.promotedAt != nil }.count
        self.rungs = rungs.map(RungJSON.init)
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
        settings = try? t.decodedSettings()
    }
}

private struct SweepJSON: Encodable {
    var progress: SweepProgressJSON
    var trials: [TrialJSON]
    var ranking: [RunSummary]
    var findings: FindingsJSON

    enum CodingKeys: String, CodingKey { case progress, trials, ranking }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(progress, forKey: .progress)
        try c.encode(trials, forKey: .trials)
        try c.encode(ranking, forKey: .ranking)
        // The findings' keys (importance, best_settings, seed_groups) sit beside these.
        try findings.encode(to: encoder)
    }
}
