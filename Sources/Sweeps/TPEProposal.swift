/// A TPE sweep's next trial, proposed from its state: the search space read back from
/// sweeps.grid (ranges as real or integer dimensions, log ranges in log space, lists of more
/// than one value as categorical), one observation per trial with a result (with ASHA: at the
/// highest rung with enough results) and one "liar" per running trial, and the settings of
/// trial 1 for everything the search leaves fixed (data, epochs, controls).
import Foundation
import Numerics
import Store
import Training

public enum TPEProposal {
    /// The settings JSON of the sweep's next trial: TPE's first proposal that is not already
    /// a trial of the sweep, from SplitMix64 stream n of the sample seed for trial n (the
    /// stream `Grid.draw` uses for it), so that one worker proposes the same trials again.
    public static func settings(_ state: SweepState) throws -> String {
        let sweepID = state.sweep.id
        guard let stored = try? JSONDecoder().decode(StoredGrid.self, from: Data(state.sweep.grid.utf8)),
            let search = stored.tpe, let first = state.trials.first
        else { throw SweepError.unreadableSearch(sweepID: sweepID) }
        let template = try first.decodedSettings()
        let space = try Space(search, stored.values, sweepID: sweepID)
        let observations = try observations(state, space)
        let number = (state.trials.map(\.number).max() ?? 0) + 1
        var random = SplitMix64(seed: search.sample_seed, stream: UInt64(number))
        let proposals = TreeParzenEstimator(space: space.dimensions.map(\.dimension))
            .proposals(observations, random: &random)
        let taken = Set(state.trials.map(\.settings))
        for values in proposals {
            var settings = template
            var label: [String] = []
            for (setting, value) in zip(space.dimensions, values) {
                label.append(setting.apply(value, &settings.hyperparameters))
            }
            settings.name = "sweep-\(sweepID)/\(label.joined(separator: ","))"
            let json = settings.json()
            if !taken.contains(json) { return json }
        }
        throw SweepError.searchExhausted(sweepID: sweepID)
    }

    /// What TPE learns from: each trial with a result (its loss) and each running trial (no
    /// loss), its values read from its settings; trials whose values are outside the space
    /// are left out.
    static func observations(_ state: SweepState, _ space: Space) throws
        -> [TreeParzenEstimator.Observation]
    {
        var loss = state.bestValLoss
        if try state.sweep.search.ladder != nil {
            let results = AshaSnapshot(state).results
            let rung = TreeParzenEstimator.modelRung(results, needed: space.dimensions.count + 1)
            loss = [:]
            for r in state.rungs where r.rung == rung { loss[r.trialID] = r.valLoss }
        }
        return try state.trials.compactMap { trial in
            let observed = loss[trial.id]
            guard observed != nil || trial.status == .running else { return nil }
            let h = try trial.decodedSettings().hyperparameters
            var values: [Double] = []
            for setting in space.dimensions {
                guard let value = setting.value(h) else { return nil }
                values.append(value)
            }
            return .init(number: trial.number, values: values, loss: observed)
        }
    }

    /// The settings a TPE sweep searches.
    struct Space {
        var dimensions: [Setting] = []

        init(_ search: DrawnSearch, _ lists: GridColumns, sweepID: Int64) throws {
            func range(_ text: String?, integer: Bool) throws -> DrawRange? {
                guard let text else { return nil }
                guard let range = DrawRange(text, integer: integer) else {
                    throw SweepError.unreadableSearch(sweepID: sweepID)
                }
                return range
            }
            func numeric(
                _ key: String, _ range: DrawRange?, _ list: [Double], integer: Bool = false,
                _ get: @escaping (Hyperparameters) -> Double,
                _ set: @escaping (inout Hyperparameters, Double) -> Void
            ) {
                let text = { (v: Double) in integer ? "\(Int(v))" : "\(v)" }
                if let range {
                    dimensions.append(Setting(range: range, key: key, get: get, set: set))
                } else if list.count > 1 {
                    dimensions.append(Setting(list: list.map(text), key: key) { text(get($0)) } set: {
                        set(&$0, Double($1) ?? 0)
                    })
                }
            }
            func categorical(
                _ key: String, _ list: [String], _ get: @escaping (Hyperparameters) -> String,
                _ set: @escaping (inout Hyperparameters, String) -> Void
            ) {
                if list.count > 1 { dimensions.append(Setting(list: list, key: key, get: get, set: set)) }
            }
            numeric(
                "lr", try range(search.learning_rate, integer: false), lists.learning_rate,
                { $0.learningRate }, { $0.learningRate = $1 })
            if let hidden = try range(search.hidden, integer: true) {
                dimensions.append(
                    Setting(range: hidden, key: "hidden", get: { Double($0.hidden.first ?? 0) }) {
                        $0.hidden = [Int($1)]
                    })
            } else {
                categorical("hidden", lists.hidden, { $0.hidden.map(String.init).joined(separator: ",") }) {
                    $0.hidden = Hyperparameters.parseHidden($1) ?? $0.hidden
                }
            }
            categorical("activation", lists.activation, { $0.activation.rawValue }) {
                $0.activation = Activation(rawValue: $1) ?? $0.activation
            }
            categorical("loss", lists.loss, { $0.loss.rawValue }) {
                $0.loss = Loss(rawValue: $1) ?? $0.loss
            }
            numeric(
                "momentum", try range(search.momentum, integer: false), lists.momentum,
                { $0.momentum }, { $0.momentum = $1 })
            numeric(
                "batch", try range(search.batch_size, integer: true), lists.batch_size.map(Double.init),
                integer: true, { Double($0.batchSize) }, { $0.batchSize = Int($1) })
            categorical("seed", lists.seed.map(String.init), { "\($0.seed)" }) {
                $0.seed = UInt64($1) ?? $0.seed
            }
        }
    }

    /// One searched setting: its dimension, how a trial's value is read as a point of it,
    /// and how a proposed point is set (returning the label part, as `Grid.label` words it).
    struct Setting {
        var dimension: SearchDimension
        var value: (Hyperparameters) -> Double?
        var apply: (Double, inout Hyperparameters) -> String

        init(
            range: DrawRange, key: String, get: @escaping (Hyperparameters) -> Double,
            set: @escaping (inout Hyperparameters, Double) -> Void
        ) {
            dimension =
                range.integer
                ? .integer(low: Int(range.low), high: Int(range.high), log: range.log)
                : .real(low: range.low, high: range.high, log: range.log)
            value = { get($0) }
            apply = { x, h in
                let v = range.value(x)
                set(&h, v)
                return "\(key)=\(range.integer ? "\(Int(v))" : "\(v)")"
            }
        }

        init(
            list: [String], key: String, get: @escaping (Hyperparameters) -> String,
            set: @escaping (inout Hyperparameters, String) -> Void
        ) {
            dimension = .categorical(count: list.count)
            value = { h in list.firstIndex(of: get(h)).map(Double.init) }
            apply = { x, h in
                let v = list[Int(x)]
                set(&h, v)
                return "\(key)=\(v.replacingOccurrences(of: ",", with: "-"))"
            }
        }
    }
}
