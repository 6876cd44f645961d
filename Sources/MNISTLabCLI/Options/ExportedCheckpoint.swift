import ArgumentParser
import Training

/// The run and checkpoint that `export-weights` and `export-model` write.
struct ExportedCheckpoint: ParsableArguments {
    @Argument(
        help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
    var run: RunReference

    @Option(
        name: .long, parsing: .unconditional,
        help: "Checkpoint to export: best (the default), last or an epoch number.",
        completion: .list(["best", "last"]), transform: ResumePoint.parse)
    var epoch = ResumePoint.best
}
