import ArgumentParser
import Foundation
import Store
import Sweeps
import Training

/// Early stopping, the learning-rate schedule and weight decay, shared by `train` and
/// `resume`. Left out, `train` uses no early stopping, a constant rate and no decay, and
/// `resume` inherits the run's (a changed one forks).
struct ControlOptions<Wording: DefaultsWording>: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Stop after N epochs without improvement in validation loss; 0 turns it off",
            default: "off"))
    var patience: Int?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Decrease in validation loss that counts as an improvement for --patience",
            default: "0"))
    var minDelta: Double?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Learning-rate schedule: constant, step:EVERY:FACTOR, cosine or plateau:PATIENCE:FACTOR",
            default: "constant"))
    var lrSchedule: String?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Floor of the step and plateau schedules, end point of cosine", default: "0"))
    var minLearningRate: Double?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "L2 weight decay on the weights (not the biases), inside the SGD update",
            default: "0"))
    var weightDecay: Double?

    func validate() throws {
        if let patience { try ControlLimits.patience(patience) }
        if let minDelta { try ControlLimits.minDelta(minDelta) }
        if let lrSchedule { _ = try ControlLimits.schedule(lrSchedule) }
        if let minLearningRate { try ControlLimits.minLearningRate(minLearningRate) }
        if let weightDecay { try ControlLimits.weightDecay(weightDecay) }
    }

    /// These settings on a new run's hyperparameters; throws if the schedule's floor is not
    /// below the learning rate.
    func apply(to h: inout Hyperparameters) throws {
        if let patience { h.patience = patience > 0 ? patience : nil }
        h.minDelta = minDelta ?? h.minDelta
        if let lrSchedule { h.lrSchedule = try ControlLimits.schedule(lrSchedule) }
        h.minLearningRate = minLearningRate ?? h.minLearningRate
        h.weightDecay = weightDecay ?? h.weightDecay
        try ControlLimits.floorBelowRate(h)
        try h.requirePatience(forMinDelta: minDelta)
    }

    /// These settings as changes to a resumed run.
    func apply(to changes: inout ResumeChanges) throws {
        changes.patience = patience
        changes.minDelta = minDelta
        changes.lrSchedule = try lrSchedule.map(ControlLimits.schedule)
        changes.minLearningRate = minLearningRate
        changes.weightDecay = weightDecay
    }
}

/// The limits of each control setting, checked by `train`, `resume` and `sweep` alike; each
/// message names the limit.
enum ControlLimits {
    static func patience(_ value: Int) throws {
        if value < 0 {
            throw ValidationError("--patience must be at least 1 epoch, or 0 for none; got \(value).")
        }
    }

    static func minDelta(_ value: Double) throws {
        if !(value >= 0 && value.isFinite) {
            throw ValidationError("--min-delta must be a finite number of at least 0; got \(value).")
        }
    }

    static func schedule(_ text: String) throws -> LearningRateSchedule.Kind {
        do {
            return try LearningRateSchedule.Kind.parse(text)
        } catch .unknown {
            throw ValidationError(
                "--lr-schedule must be constant, step:EVERY:FACTOR, cosine or plateau:PATIENCE:FACTOR; got '\(text)'.")
        } catch .period(let period) {
            throw ValidationError(
                "--lr-schedule's EVERY or PATIENCE must be a whole number of at least 1 epoch; got '\(period)' in '\(text)'.")
        } catch .factor(let factor) {
            throw ValidationError(
                "--lr-schedule's FACTOR must be a number between 0 and 1 (both excluded); got '\(factor)' in '\(text)'.")
        }
    }

    static func minLearningRate(_ value: Double) throws {
        // Training runs in Float32: a floor must survive the conversion.
        if !(value >= 0 && Float(value).isFinite) {
            throw ValidationError(
                "--min-learning-rate must be a number of at least 0 that Float32 can hold (below 3.4e38); got \(value).")
        }
    }

    static func weightDecay(_ value: Double) throws {
        // λ·w is computed in Float32: a positive λ that rounds to 0 would silently do nothing.
        if !(value >= 0 && Float(value).isFinite && (value == 0 || Float(value) > 0)) {
            throw ValidationError(
                "--weight-decay must be 0 or a positive number Float32 can hold (1e-45 to 3.4e38); got \(value).")
        }
    }

    static func floorBelowRate(_ h: Hyperparameters) throws {
        if h.lrSchedule != .constant && h.minLearningRate >= h.learningRate {
            throw ValidationError(
                "--min-learning-rate must be below the learning rate (\(h.learningRate)) for a \(h.lrSchedule) schedule; got \(h.minLearningRate).")
        }
    }
}

// MARK: - Sweep

/// The control settings as comma-separated lists for `sweep`: every combination with the
/// other swept settings is a run.
struct SweepControlOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Weight decays, e.g. 0,1e-4,1e-3.")
    var weightDecay = "0"

    @Option(name: .long, parsing: .unconditional, help: "Learning-rate schedules, e.g. constant,cosine,step:100:0.5.")
    var lrSchedule = "constant"

    @Option(name: .long, parsing: .unconditional, help: "Minimum learning rates of the schedules, e.g. 0,0.001.")
    var minLearningRate = "0"

    @Option(name: .long, parsing: .unconditional, help: "Early-stopping patiences in epochs, 0 for none, e.g. 0,50.")
    var patience = "0"

    /// nil: not given (0), which a trial without early stopping may have; given, each trial
    /// needs a patience, as `train` does.
    @Option(
        name: .long, parsing: .unconditional,
        help: "Minimum improvements for the patience, e.g. 0,0.001 (default: 0).")
    var minDelta: String?

    func grid() throws -> ControlGrid {
        func list<T>(_ text: String, _ option: String, _ parse: (String) throws -> T) throws
            -> [T]
        {
            try text.split(separator: ",", omittingEmptySubsequences: false).map {
                let item = String($0).trimmingCharacters(in: .whitespaces)
                return try parse(item)
            }
        }
        func number(_ option: String, _ check: @escaping (Double) throws -> Void)
            -> (String) throws -> Double
        {
            { item in
                guard let value = Double(item) else {
                    throw ValidationError(
                        "--\(option) has an invalid value '\(item)'; give a comma-separated list, e.g. \(ControlGrid.example[option] ?? "0,1").")
                }
                try check(value)
                return value
            }
        }
        return ControlGrid(
            weightDecay: try list(
                weightDecay, "weight-decay", number("weight-decay", ControlLimits.weightDecay)),
            lrSchedule: try list(lrSchedule, "lr-schedule", ControlLimits.schedule),
            minLearningRate: try list(
                minLearningRate, "min-learning-rate",
                number("min-learning-rate", ControlLimits.minLearningRate)),
            patience: try list(patience, "patience") { item in
                guard let value = Int(item) else {
                    throw ValidationError(
                        "--patience has an invalid value '\(item)'; give a comma-separated list, e.g. \(ControlGrid.example["patience"] ?? "0,50").")
                }
                try ControlLimits.patience(value)
                return value
            },
            minDelta: try list(
                minDelta ?? "0", "min-delta", number("min-delta", ControlLimits.minDelta)))
    }

    /// Throws as `train` would for a trial of `grid` (these options' grid): a schedule's floor
    /// not below one of the swept learning rates, or a min delta given to a trial without
    /// early stopping.
    func validate(_ grid: ControlGrid, learningRates: [Double]) throws {
        for s in grid.combinations {
            var h = Hyperparameters()
            h.lrSchedule = s.lrSchedule
            h.minLearningRate = s.minLearningRate
            h.patience = s.patience > 0 ? s.patience : nil
            do {
                try h.requirePatience(forMinDelta: minDelta.map { _ in s.minDelta })
            } catch {
                // Thrown from `validate()`, where argument-parser words only ValidationError.
                throw ValidationError(ErrorWording.training(error))
            }
            for rate in learningRates {
                h.learningRate = rate
                try ControlLimits.floorBelowRate(h)
            }
        }
    }
}

extension ControlGrid {
    static let example = [
        "weight-decay": "0,1e-4", "lr-schedule": "constant,cosine",
        "min-learning-rate": "0,0.001", "patience": "0,50", "min-delta": "0,0.001",
    ]
}
