/// The sweep figures' data as JSON: what `/api/sweeps/{id}` adds to the sweep's row and runs,
/// and what the sweep page embeds for its script. The findings' keys (importance,
/// best_settings, seed_groups) are `sweeps ID --json`'s, and trials carry the same `status`
/// and `settings` as there.
import Foundation
import Store
import Sweeps

/// What a sweep found, with the keys `sweeps ID --json` and `/api/sweeps/{id}` share.
public struct FindingsJSON: Encodable {
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

    public init(_ f: SweepFindings) {
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

extension SweepFigures: Encodable {
    struct TrialJSON: Encodable {
        var number: Int
        var status: String
        var rung: Int?
        var run_id: Int64?
        var name: String
        /// The trial's typed settings, as `trials.settings` stores them (as in `sweeps ID --json`).
        var settings: TrialSettings
        /// best_val_loss, best_val_accuracy, test_accuracy: those the trial has.
        var metrics: [String: Double]
    }
    struct AxisJSON: Encodable {
        var setting: String
        /// linear, log or categorical.
        var scale: String
        /// A categorical axis's values, bottom to top.
        var values: [String]?
    }
    struct MetricJSON: Encodable {
        var name: String
        var title: String
        /// lower or higher.
        var better: String
    }
    struct RungJSON: Encodable {
        var trial: Int
        var run_id: Int64?
        var rung: Int
        var epoch: Int
        var val_loss: Double
        var promoted: Bool
    }

    enum Keys: String, CodingKey { case trials, axes, constant, metrics, rungs, rung_epochs }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(
            trials.map { t in
                TrialJSON(
                    number: t.number, status: t.status.rawValue, rung: t.rung, run_id: t.runID,
                    name: t.name, settings: t.typedSettings,
                    metrics: Dictionary(uniqueKeysWithValues: t.metrics.map { ($0.key.rawValue, $0.value) }))
            }, forKey: .trials)
        try c.encode(
            axes.map { a in
                switch a.scale {
                case .linear: AxisJSON(setting: a.setting.column, scale: "linear")
                case .log: AxisJSON(setting: a.setting.column, scale: "log")
                case .categorical(let values): AxisJSON(setting: a.setting.column, scale: "categorical", values: values)
                }
            }, forKey: .axes)
        try c.encode(
            Dictionary(uniqueKeysWithValues: constant.map { ($0.setting.column, $0.value) }), forKey: .constant)
        try c.encode(
            metrics.map { MetricJSON(name: $0.rawValue, title: $0.title, better: $0.lowerIsBetter ? "lower" : "higher") },
            forKey: .metrics)
        try c.encode(
            rungs.map {
                RungJSON(
                    trial: $0.trial, run_id: $0.runID, rung: $0.rung.rung, epoch: $0.rung.epoch,
                    val_loss: $0.rung.valLoss, promoted: $0.rung.promotedAt != nil)
            }, forKey: .rungs)
        try c.encode(rungEpochs, forKey: .rung_epochs)
        try FindingsJSON(findings).encode(to: encoder)
    }

    /// The figures' JSON for a page's <script type="application/json">: no "<" left that
    /// could end the element ("</script>" in a run's name).
    public func embeddedJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return text.replacingOccurrences(of: "<", with: "\\u003c")
    }
}
