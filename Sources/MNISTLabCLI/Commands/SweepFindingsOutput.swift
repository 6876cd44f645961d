import Sweeps

/// `sweeps ID`'s findings as text: importance, the best values found, and the seeds.
func findingsText(_ f: SweepFindings) -> String {
    var sections: [String] = []
    let finished = Format.count(f.finished, "finished trial")
    var importance = "importance for best validation loss (\(finished)), by \(SweepFindings.method):"
    if f.finished < 2 {
        importance += "\n  needs at least 2 finished trials; \(finished) so far."
    } else if let shares = f.importance {
        var table = Table(["setting", "share"], numeric: [1])
        for s in shares { table.append([s.setting.column, Format.percent(s.share)]) }
        importance += "\n" + table.render()
    } else if f.varying.isEmpty {
        importance += "\n  no setting varies among them."
    } else {
        importance += "\n  best validation loss is the same in all of them."
    }
    if !f.constant.isEmpty {
        importance += "\nconstant, not ranked: " + f.constant.map(\.column).joined(separator: ", ")
    }
    sections.append(importance)
    if let run = f.bestRunID, !f.bestSettings.isEmpty {
        sections.append(
            "best values found (run \(run)): "
                + f.bestSettings.map { "\($0.setting.column)=\($0.value)" }.joined(separator: ", "))
    }
    if !f.seedGroups.isEmpty {
        var table = Table(
            ["rank", "configuration", "seeds", "mean best val loss", "± std"], numeric: [0, 2, 3, 4])
        for (k, g) in f.seedGroups.enumerated() {
            table.append([
                "\(k + 1)", g.configuration, "\(g.seeds.count)", Format.loss(g.mean),
                Format.loss(g.standardDeviation),
            ])
        }
        sections.append("configurations over their seeds, ranked by mean:\n" + table.render())
    }
    return sections.joined(separator: "\n\n")
}
