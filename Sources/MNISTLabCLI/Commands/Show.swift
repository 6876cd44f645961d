import ArgumentParser
import Store
import Training

extension MNISTLab {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a run: its settings, lineage and every epoch, the best one marked.",
            discussion: """
                Examples:
                  mnistlab show 1
                  mnistlab show 1 --json
                """)

        @Argument(
            help: ArgumentHelp(RunReference.help, valueName: "run"), transform: RunReference.parse)
        var reference: RunReference

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openForReading()
            let runID = try reference.id(in: store)
            guard let summary = try store.summary(runID: runID) else { throw TrainingError.unknownRun(runID) }
            let epochs = try store.epochs(runID: runID)
            let kept = try store.checkpointEpochs(runID: runID)
            let children = try store.forks(of: runID)
            if output.json {
                return try printJSON(
                    ShowJSON(run: summary, epochs: epochs, checkpoints: kept, children: children.map(\.id)))
            }
            print(settings(summary, children: children, kept: kept))
            guard !epochs.isEmpty else { return print("\nNo epochs recorded yet.") }
            print("\nval loss " + Sparkline.render(epochs.map(\.valLoss)))
            // The rate column only where the rate moves, so constant runs read as before.
            let showsRate = summary.run.lrSchedule != "constant"
            var table = Table(
                ["", "epoch", "train loss", "train acc", "val loss", "val acc", "seconds", "checkpoint"]
                    + (showsRate ? ["lr"] : []),
                numeric: Set([1, 2, 3, 4, 5, 6] + (showsRate ? [8] : [])))
            let keptSet = Set(kept)
            for e in epochs {
                table.append([
                    e.epoch == summary.bestEpoch ? "*" : "", "\(e.epoch)", Format.loss(e.trainLoss),
                    Format.percent(e.trainAccuracy), Format.loss(e.valLoss),
                    Format.percent(e.valAccuracy), Format.fixed(e.seconds, digits: 3),
                    keptSet.contains(e.epoch) ? "kept" : "",
                ] + (showsRate ? [e.learningRate.map(Format.number) ?? "-"] : []))
            }
            print("\n" + table.render())
            print("* best epoch (lowest validation loss)")
        }

        private func settings(_ s: RunSummary, children: [Run], kept: [Int]) -> String {
            let r = s.run
            var lines: [(String, String)] = [
                ("run", "\(r.id) (\(r.name))"),
                ("status", r.status.rawValue + (r.failureReason.map { ": \($0)" } ?? "")
                    + (s.stoppedEarlyAt.map { ", stopped early after epoch \($0) (patience \(r.patience ?? 0))" } ?? "")),
                ("created", r.createdAt), ("finished", r.finishedAt ?? "-"),
                ("network", "784 → \(r.hidden.replacingOccurrences(of: ",", with: " → ")) → 10, \(r.activation), softmax, \(r.loss)"),
                ("learning rate", Format.number(r.learningRate)), ("batch size", "\(r.batchSize)"),
                ("momentum", Format.number(r.momentum)), ("epochs", "\(s.lastEpoch ?? 0) of \(r.epochs)"),
                ("seed", Format.seed(r.seed)), ("data", "\(r.trainSize) train / \(r.valSize) val from \(r.datasetPath) (\(r.datasetChecksum))"),
                ("code", "mnistlab \(r.codeVersion), \(r.kernelPath) kernels"),
                ("schedule", scheduleText(r)),
                ("weight decay", Format.number(r.weightDecay)),
                ("patience", r.patience.map { "\($0) epochs, min delta \(Format.number(r.minDelta))" } ?? "off"),
                ("best", s.bestEpoch.map { "epoch \($0): val loss \(Format.loss(s.bestValLoss)), val acc \(Format.percent(s.bestValAccuracy))" } ?? "-"),
                ("checkpoints", kept.map(String.init).joined(separator: ", ")),
            ]
            if let parent = r.parentRunID {
                lines.insert(("forked from", "run \(parent) at epoch \(r.parentEpoch ?? 0)"), at: 2)
            }
            if !s.tags.isEmpty { lines.insert(("tags", s.tags.joined(separator: ", ")), at: 1) }
            if let note = r.note { lines.insert(("note", note), at: s.tags.isEmpty ? 1 : 2) }
            if !children.isEmpty {
                lines.append(("forks", children.map { "run \($0.id) at epoch \($0.parentEpoch ?? 0)" }.joined(separator: ", ")))
            }
            let width = lines.map(\.0.count).max() ?? 0
            return lines.map {
                $0.0 + String(repeating: " ", count: width - $0.0.count) + "  "
                    + $0.1.controlCharactersEscaped
            }
                .joined(separator: "\n")
        }
    }
}

/// "constant", or the schedule with its floor: "cosine to 0.001".
private func scheduleText(_ r: Run) -> String {
    r.lrSchedule
        + (r.lrSchedule != "constant" && r.minLearningRate > 0
            ? " to \(Format.number(r.minLearningRate))" : "")
}

private struct ShowJSON: Encodable {
    var run: RunSummary
    var epochs: [EpochRecord]
    var checkpoints: [Int]
    var children: [Int64]
}
