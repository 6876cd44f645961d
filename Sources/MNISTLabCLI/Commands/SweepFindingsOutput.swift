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

/// The findings' keys in `sweeps ID --json`.
struct FindingsJSON: Encodable {
    struct ImportanceJSON: Encodable {
        struct Share: Encodable {
            var setting: String
            var share: Double
        }
        var method = SweepFindings.method
        var metric = "best_val_loss"
        var finished_trials: Int
        /// Most important first; null when there is nothing to explain.
        var shares: [Share]?
        var constant: [String]
    }
    struct BestJSON: Encodable {
        var run_id: Int64
        var values: [String: String]
    }
    struct SeedGroupJSON: Encodable {
        var rank: Int
        var configuration: String
        var seeds: [UInt64]
        var mean_best_val_loss: Double
        var std_best_val_loss: Double?
    }

    var importance: ImportanceJSON
    var best_settings: BestJSON?
    var seed_groups: [SeedGroupJSON]

    init(_ f: SweepFindings) {
        importance = ImportanceJSON(
            finished_trials: f.finished,
            shares: f.importance?.map { ImportanceJSON.Share(setting: $0.setting.column, share: $0.share) },
            constant: f.constant.map(\.column))
        best_settings = f.bestRunID.map { run in
            BestJSON(
                run_id: run,
                values: Dictionary(uniqueKeysWithValues: f.bestSettings.map { ($0.setting.column, $0.value) }))
        }
        seed_groups = f.seedGroups.enumerated().map { k, g in
            SeedGroupJSON(
                rank: k + 1, configuration: g.configuration, seeds: g.seeds, mean_best_val_loss: g.mean,
                std_best_val_loss: g.standardDeviation)
        }
    }
}
