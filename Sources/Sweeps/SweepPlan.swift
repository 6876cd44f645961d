/// A sweep before it is written: its grids, what every trial shares, and the trials they
/// expand to, as typed settings.
import Foundation
import Store
import Training

public struct SweepPlan: Sendable {
    public var grid: Grid
    public var controls: ControlGrid
    /// Epochs each trial trains.
    public var epochs: Int
    public var keepEvery: Int
    /// The data every trial trains on (its directory as the sweep found it).
    public var data: DataSource
    /// ASHA's rungs, if its trials pause at them to be promoted or pruned.
    public var ladder: RungLadder?

    public init(
        grid: Grid, controls: ControlGrid = ControlGrid(), epochs: Int,
        keepEvery: Int = Defaults.keepEvery, ladder: RungLadder? = nil, data: DataSource
    ) {
        self.grid = grid
        self.controls = controls
        self.epochs = epochs
        self.keepEvery = keepEvery
        self.ladder = ladder
        self.data = data
    }

    /// Grid points, repeated ones included.
    public var count: Int { grid.count * controls.count }

    /// The settings of every distinct grid point of sweep `sweepID`, in grid order (a point
    /// equal to an earlier one is left out: it would train the same run twice).
    public func trials(sweepID: Int64) -> [TrialSettings] {
        var seen = Set<String>()
        return grid.combinations.flatMap { settings in
            controls.combinations.map { control in
                TrialSettings(
                    name: "sweep-\(sweepID)/\(label(settings, control))",
                    hyperparameters: hyperparameters(settings, control), data: data,
                    keepEvery: keepEvery)
            }
        }.filter { seen.insert($0.json()).inserted }
    }

    /// A trial's hyperparameters: the seed's, with the grid point's values.
    func hyperparameters(_ s: Grid.Settings, _ c: ControlGrid.Settings) -> Hyperparameters {
        var h = Defaults.hyperparameters
        h.learningRate = s.learningRate
        h.hidden = Hyperparameters.parseHidden(s.hidden) ?? h.hidden
        h.activation = s.activation
        h.loss = s.loss
        h.momentum = s.momentum
        h.batchSize = s.batchSize
        h.seed = s.seed
        h.epochs = epochs
        h.weightDecay = c.weightDecay
        h.lrSchedule = c.lrSchedule
        h.minLearningRate = c.minLearningRate
        h.patience = c.patience > 0 ? c.patience : nil
        h.minDelta = c.minDelta
        return h
    }

    /// A trial's label: the varied settings of both grids.
    func label(_ settings: Grid.Settings, _ control: ControlGrid.Settings) -> String {
        let parts = controls.labelParts(control)
        if parts.isEmpty { return grid.label(settings) }
        // Grid.label names the learning rate when nothing of its own varies.
        return ((grid.count > 1 ? [grid.label(settings)] : []) + parts).joined(separator: ",")
    }

    /// The sweeps.grid JSON: the grid's keys and the swept control settings'.
    public func json() throws -> String {
        let base = try grid.json()
        let fields = controls.jsonFields
        guard !fields.isEmpty,
            var object = try JSONSerialization.jsonObject(with: Data(base.utf8))
                as? [String: Any]
        else { return base }
        object.merge(fields) { _, new in new }
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A sweep as written: its row and its trials' settings, in trial order.
public struct CreatedSweep: Sendable {
    public var sweep: SweepRecord
    public var trials: [TrialSettings]
    /// Grid points left out because they equal an earlier one.
    public var repeated: Int
}

extension Store {
    /// Writes `plan` as a new sweep with one pending trial per distinct grid point, in one
    /// transaction.
    public func createSweep(_ plan: SweepPlan) throws -> CreatedSweep {
        var trials: [TrialSettings] = []
        let search = SweepSearch(
            epochs: plan.epochs, minEpochs: plan.ladder?.epochs.first,
            reductionFactor: plan.ladder?.reductionFactor)
        let sweep = try createSweep(grid: try plan.json(), search: search) { id in
            trials = plan.trials(sweepID: id)
            return trials.map { $0.json() }
        }
        return CreatedSweep(sweep: sweep, trials: trials, repeated: plan.count - trials.count)
    }
}
