/// What the sweep page and `report --sweep` draw, as one value built from the sweep, its
/// trials, their runs' summaries, rungs and evaluations, and `SweepFindings`: the axes of the
/// parallel-coordinates plot (one per setting that varies, log for log-range settings,
/// categories in full), each trial's metrics, importance, rungs and seed groups. The SVG is
/// drawn from it server-side (SweepFigureSVG.swift), so the static report needs no script;
/// the page embeds the same value as JSON for its script (`SweepFigures.json`).
import Foundation
import Importance
import Store
import Sweeps
import Synchronization

public struct SweepFigures: Sendable {
    /// What the plot's last axis can show.
    public enum Metric: String, CaseIterable, Sendable, Encodable {
        case bestValLoss = "best_val_loss"
        case bestValAccuracy = "best_val_accuracy"
        case testAccuracy = "test_accuracy"

        public var title: String {
            switch self {
            case .bestValLoss: "best validation loss"
            case .bestValAccuracy: "best validation accuracy"
            case .testAccuracy: "test accuracy"
            }
        }

        public var lowerIsBetter: Bool { self == .bestValLoss }

        /// The metric as pages show it: a loss with 4 decimals, an accuracy in percent.
        func text(_ value: Double?) -> String { self == .bestValLoss ? loss(value) : percent(value) }
    }

    /// One trial as the figures need it.
    public struct Trial: Sendable {
        public var number: Int
        public var status: TrialRecord.Status
        public var rung: Int?
        public var runID: Int64?
        /// The run's name, else the trial's ("sweep-3/lr=0.1").
        public var name: String
        /// Each setting's value as text ("0.1", "256,128", "relu"); empty for settings this
        /// build cannot read.
        public var settings: [SweptSetting: String]
        public var metrics: [Metric: Double]
        /// What `trials.settings` holds, typed.
        public var typedSettings: TrialSettings
    }

    /// A setting the trials share.
    public struct ConstantSetting: Sendable, Equatable {
        public var setting: SweptSetting
        public var value: String
    }

    /// An axis of the parallel-coordinates plot (or a scatter's x axis).
    public struct SettingAxis: Sendable, Equatable {
        public enum Scale: Sendable, Equatable {
            case linear, log
            /// Its values in axis order, bottom to top.
            case categorical([String])

            /// How the plot names it under the axis title.
            var name: String {
                switch self {
                case .linear: "linear"
                case .log: "log scale"
                case .categorical: "categories"
                }
            }
        }
        public struct Tick: Sendable, Equatable {
            /// 0 at the bottom of the axis, 1 at its top.
            public var fraction: Double
            public var label: String
        }
        public var setting: SweptSetting
        public var scale: Scale
        public var ticks: [Tick]
        /// The numeric span the axis covers (its ticks' ends); unused for categories.
        var low = 0.0
        var high = 1.0

        /// Where `text` (a trial's value) falls: 0 bottom … 1 top; nil for a value not on it.
        public func fraction(of text: String) -> Double? {
            switch scale {
            case .categorical(let values):
                guard let k = values.firstIndex(of: text) else { return nil }
                return values.count == 1 ? 0.5 : Double(k) / Double(values.count - 1)
            case .linear, .log:
                guard let v = Double(text), v.isFinite else { return nil }
                return Axis(low: low, high: high, isLog: scale == .log, ticks: []).fraction(v)
            }
        }

        /// The longest label, in characters: how much room the axis needs beside it.
        var widestLabel: Int { ticks.map(\.label.count).max() ?? 0 }
    }

    /// A trial's validation loss per epoch, for the rung figure.
    public struct Curve: Sendable {
        public var trial: Int
        public var runID: Int64
        public var outcome: Outcome
        /// (epoch, validation loss)
        public var points: [(epoch: Int, value: Double)]
    }

    /// A row of `trial_rungs` with its trial's number and run.
    public struct RungReached: Sendable, Equatable {
        public var trial: Int
        public var runID: Int64?
        public var rung: TrialRung
    }

    /// How a trial of an ASHA sweep fared at its rungs.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Promoted at every rung up to the last, where it completed.
        case promoted
        /// Stopped for good at a rung (or failed).
        case pruned
        /// Paused at a rung, running or pending: not decided yet.
        case open
    }

    public var sweep: SweepRecord
    /// Trials whose settings this build can read, in number order.
    public var trials: [Trial]
    /// Trials left out: settings written by a newer build, or unreadable.
    public var unreadable: Int
    public var axes: [SettingAxis]
    public var constant: [ConstantSetting]
    /// The metrics some trial has, best validation loss first.
    public var metrics: [Metric]
    public var findings: SweepFindings
    /// The epochs of each rung (from `trial_rungs`), empty for a sweep without rungs.
    public var rungEpochs: [Int]
    /// Every rung a trial reached, in trial order.
    public var rungs: [RungReached]
    public var curves: [Curve]
    /// Whether the sweep has work left (`SweepState.isOpen`): its page follows it.
    public var isLive: Bool

    /// The figures of `sweep` from its trials (number order), its runs' summaries, the rungs
    /// they reached, each run's test accuracies (by run id, epoch order) and validation curves
    /// (by run id; only drawn for a sweep with rungs). `findings`: the sweep's, if known
    /// (`FindingsMemo`), else worked out here.
    public init(
        sweep: SweepRecord, trials records: [TrialRecord], summaries: [RunSummary],
        rungs: [TrialRung] = [], testAccuracies: [Int64: [(epoch: Int, value: Double)]] = [:],
        curves: [Int64: [(epoch: Int, value: Double)]] = [:], findings: SweepFindings? = nil
    ) {
        self.sweep = sweep
        isLive = SweepState.isOpen(trials: records, size: sweep.size)
        let byRun = Dictionary(summaries.map { ($0.run.id, $0) }, uniquingKeysWith: { a, _ in a })
        var decoded: [(TrialRecord, TrialSettings)] = []
        for record in records {
            if let settings = try? record.decodedSettings() { decoded.append((record, settings)) }
        }
        unreadable = records.count - decoded.count
        let trials = decoded.map { record, settings in
            let summary = record.runID.flatMap { byRun[$0] }
            var metrics: [Metric: Double] = [:]
            metrics[.bestValLoss] = summary?.bestValLoss
            metrics[.bestValAccuracy] = summary?.bestValAccuracy
            if let runID = record.runID, let evaluations = testAccuracies[runID] {
                // As the report picks it: the evaluation of the best epoch, else the latest.
                metrics[.testAccuracy] =
                    (evaluations.first { $0.epoch == summary?.bestEpoch } ?? evaluations.last)?.value
            }
            return Trial(
                number: record.number, status: record.status, rung: record.rung, runID: record.runID,
                name: summary?.run.name ?? settings.name,
                settings: Dictionary(
                    uniqueKeysWithValues: SweptSetting.allCases.map { ($0, $0.text(of: settings.hyperparameters)) }),
                metrics: metrics, typedSettings: settings)
        }
        self.trials = trials
        let hyperparameters = decoded.map { $0.1.hyperparameters }
        let ranges = SweepFindings.ranges(grid: sweep.grid)
        var axes: [SettingAxis] = []
        var constant: [ConstantSetting] = []
        for setting in SweptSetting.allCases {
            let texts = trials.compactMap { $0.settings[setting] }
            guard let first = texts.first else { continue }
            if Set(texts).count == 1 {
                constant.append(ConstantSetting(setting: setting, value: first))
            } else {
                axes.append(
                    Self.axis(
                        setting, texts: texts,
                        search: SweptSetting.searchAxis(setting, values: hyperparameters, range: ranges[setting]).scale,
                        range: ranges[setting]))
            }
        }
        self.axes = axes
        self.constant = constant
        metrics = Metric.allCases.filter { m in m != .testAccuracy || trials.contains { $0.metrics[m] != nil } }
        self.findings = findings ?? SweepFindings(grid: sweep.grid, trials: records, summaries: summaries)

        rungEpochs = Array(Set(rungs.map(\.epoch))).sorted()
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.rungs = rungs.compactMap { r in
            byID[r.trialID].map { RungReached(trial: $0.number, runID: $0.runID, rung: r) }
        }
        self.curves = rungs.isEmpty ? [] : records.compactMap { record in
            guard let runID = record.runID, let points = curves[runID], !points.isEmpty else { return nil }
            let outcome: Outcome =
                switch record.status {
                case .completed: .promoted
                case .pruned, .failed: .pruned
                case .pending, .running, .paused: .open
                }
            return Curve(trial: record.number, runID: runID, outcome: outcome, points: points)
        }
    }

    /// The axis of a varying setting: numeric where fANOVA's search axis is (log where it is),
    /// over the values and the range they were drawn from, with round ticks; else one
    /// category per value, in numeric order where every value is a number.
    static func axis(_ setting: SweptSetting, texts: [String], search: SearchAxis.Scale, range: DrawRange?)
        -> SettingAxis
    {
        let numbers = texts.compactMap(Double.init)
        let categorical = if case .categorical = search { true } else { false }
        if !categorical, numbers.count == texts.count, var low = numbers.min(),
            var high = numbers.max()
        {
            if let range {
                low = min(low, range.low)
                high = max(high, range.high)
            }
            let log = search == .log && low > 0
            let ticks = log ? Axis.logarithmic(low, high) : Axis.linear(low, high, integer: false)
            return SettingAxis(
                setting: setting, scale: log ? .log : .linear,
                ticks: ticks.ticks.map { SettingAxis.Tick(fraction: ticks.fraction($0), label: tickText($0)) },
                low: ticks.low, high: ticks.high)
        }
        var values = Array(Set(texts))
        let numeric = values.allSatisfy { Double($0) != nil }
        values.sort { numeric ? (Double($0) ?? 0, $0) < (Double($1) ?? 0, $1) : $0 < $1 }
        let axis = SettingAxis(setting: setting, scale: .categorical(values), ticks: [])
        var labelled = axis
        labelled.ticks = values.map { SettingAxis.Tick(fraction: axis.fraction(of: $0) ?? 0.5, label: $0) }
        return labelled
    }


    /// The metric's axis over the values the trials have: round ticks, a loss with as few
    /// decimals as the ticks need, an accuracy in percent.
    func metricAxis(_ metric: Metric) -> Axis {
        let values = trials.compactMap { $0.metrics[metric] }
        return Axis.linear(values.min() ?? 0, values.max() ?? 1, integer: false)
    }

    /// A metric value as a tick label.
    static func metricTick(_ metric: Metric, _ value: Double) -> String {
        metric == .bestValLoss ? tickText(value) : tickText(value * 100) + "%"
    }

    /// The metric's colour scale: where a value falls, 0 the worst, 1 the best (all 1 when
    /// every trial has the same value).
    func colorScale(_ metric: Metric) -> (Double) -> Double {
        let values = trials.compactMap { $0.metrics[metric] }
        guard let lo = values.min(), let hi = values.max(), hi > lo else { return { _ in 1 } }
        return { value in metric.lowerIsBetter ? (hi - value) / (hi - lo) : (value - lo) / (hi - lo) }
    }
}

extension SweepFigures {
    /// The figures' styles (Assets/sweep.css), for the report and the dashboard.
    public static let css = String(decoding: PackageResources.sweep_css, as: UTF8.self)

    /// The figures of sweep `id` as `store` holds them now; nil for no such sweep. With a
    /// `memo`, findings already worked out from the same trials are not worked out again.
    public static func load(sweepID id: Int64, from store: Store, memo: FindingsMemo? = nil) throws
        -> SweepFigures?
    {
        guard let state = try store.sweepState(id: id) else { return nil }
        let summaries = try store.summaries(sweepID: id)
        return SweepFigures(
            sweep: state.sweep, trials: state.trials, summaries: summaries, rungs: state.rungs,
            testAccuracies: try store.testAccuracies(sweepID: id),
            curves: state.rungs.isEmpty ? [:] : try store.validationCurves(sweepID: id),
            findings: memo?.findings(state.sweep, state.trials, summaries))
    }
}

/// Each sweep's findings as last worked out, with what they were worked out from. fANOVA over
/// 1,000 trials takes a large part of a second (BENCHMARKS.md), and a live sweep page is drawn
/// again at every epoch of every trial, while its findings change only when a trial finishes.
/// Holds the findings of the last 16 sweeps asked for.
public final class FindingsMemo: Sendable {
    private let entries = Mutex<[Int64: (inputs: String, findings: SweepFindings)]>([:])

    public init() {}

    /// `SweepFindings(grid:trials:summaries:)`, remembered.
    public func findings(_ sweep: SweepRecord, _ trials: [TrialRecord], _ summaries: [RunSummary])
        -> SweepFindings
    {
        // Everything the findings read: the grid, each trial's status, run and settings, and
        // each run's best validation loss (bit for bit).
        var inputs = sweep.grid
        for t in trials { inputs += "\n\(t.id) \(t.status.rawValue) \(t.runID ?? 0) \(t.settings)" }
        for s in summaries { inputs += "\n\(s.run.id) \(s.bestValLoss?.bitPattern ?? 0)" }
        if let known = entries.withLock({ $0[sweep.id] }), known.inputs == inputs { return known.findings }
        let findings = SweepFindings(grid: sweep.grid, trials: trials, summaries: summaries)
        entries.withLock { entries in
            if entries.count >= 16 && entries[sweep.id] == nil { entries.removeAll() }
            entries[sweep.id] = (inputs, findings)
        }
        return findings
    }
}

