import ArgumentParser
import Training

/// `--from best|last|N` and `--epoch best|last|N`: parsed by `ResumePoint.parse`, whose
/// refusal argument-parser prints after "The value 'x' is invalid for '--epoch <epoch>': ".
extension ResumePoint {
    static func parse(_ argument: String) throws -> ResumePoint {
        switch argument {
        case "best": return .best
        case "last": return .last
        default:
            guard let epoch = Int(argument), epoch >= 1 else {
                throw ValidationError("give best, last or an epoch number from 1.")
            }
            return .epoch(epoch)
        }
    }
}

extension MNISTLab {
    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Continue a run from its best, last or any kept epoch.",
            discussion: """
                With the run's own settings, recorded epochs are never recomputed: past its \
                last recorded epoch the run continues in place (the usual case after Ctrl-C, \
                or --epochs N to go further); up to it there is nothing to do, which is said \
                in one line with exit 0 (a new --keep-every forks instead, to keep the \
                checkpoints of the recomputed epochs). With a new learning rate, batch size, \
                momentum, schedule, weight decay or patience (or a new --epochs under a \
                cosine schedule), or a --name, a new run is forked from --from (default: the \
                best epoch of a finished run, the last of any other) with parent_run_id and \
                parent_epoch set; the parent is never changed. A run that recorded no epoch \
                restarts in place with the new settings. --epochs is a total, as in train. \
                The schedule and the patience counter continue from the recorded epochs. A \
                setting left out keeps the run's own value.

                Examples:
                  mnistlab resume 3
                  mnistlab resume 3 --epochs 2000
                  mnistlab resume 1 --from best --learning-rate 0.01 --epochs 600
                """)

        @Argument(
            help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
        var reference: RunReference

        @Option(
            name: .long, parsing: .unconditional,
            help: "Epoch to resume from: best, last or an epoch number.",
            completion: .list(["best", "last"]), transform: ResumePoint.parse)
        var from: ResumePoint?

        @OptionGroup var training: TrainingOptions<ResumeWording>
        @OptionGroup var controls: ControlOptions<ResumeWording>

        @Option(name: .long, help: "Directory of the run's dataset, if it has moved.")
        var data: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws { try Check.notEmpty(data, "--data") }

        func run() throws {
            var changes = ResumeChanges()
            changes.learningRate = training.learningRate
            changes.batchSize = training.batchSize
            changes.momentum = training.momentum
            changes.epochs = training.epochs
            changes.keepEvery = training.keepEvery
            changes.name = training.name
            changes.dataDirectory = data
            try controls.apply(to: &changes)
            try runSession(database, open: database.openExisting) { session in
                try session.resume(
                    runID: try reference.id(in: session.store), from: from, changes: changes)
            }
        }
    }
}
