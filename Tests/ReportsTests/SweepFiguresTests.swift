import Foundation
import Numerics
@testable import Store
import Sweeps
import Testing
import Training

@testable import Reports

/// The sweep figures' model and drawing, from trials and summaries made here: axes only for
/// settings that vary, log axes mapped by decade, categories in full, the metric choice,
/// unfinished trials drawn apart, rungs and escaping.
@Suite(.timeLimit(.minutes(10))) struct SweepFiguresTests {
    /// A trial of sweep 1 with these settings; its run is `number` (completed) unless `runID`
    /// says otherwise.
    func trial(
        _ number: Int, lr: Double = 0.1, hidden: [Int] = [100], activation: Activation = .sigmoid,
        seed: UInt64 = 1, status: TrialRecord.Status = .completed, runID: Int64?? = nil, rung: Int? = nil
    ) throws -> TrialRecord {
        var h = Defaults.hyperparameters
        h.learningRate = lr
        h.hidden = hidden
        h.activation = activation
        h.seed = seed
        let settings = TrialSettings(
            name: "sweep-1/t\(number)", hyperparameters: h,
            data: DataSource(directory: "/data", validationSize: 100, trainLimit: nil))
        var object: [String: Any] = [
            "id": number, "sweep_id": 1, "number": number, "settings": settings.json(),
            "status": status.rawValue, "attempts": 1,
        ]
        if let run = runID ?? Int64(number) { object["run_id"] = run }
        if let rung { object["rung"] = rung }
        return try JSONDecoder().decode(TrialRecord.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// Run `id`'s summary with this best validation loss and accuracy.
    func summary(_ id: Int64, loss: Double?, accuracy: Double? = nil, name: String? = nil) -> RunSummary {
        var s = ReportRun.sample(id: id, epochs: 2).summary
        s.bestValLoss = loss
        s.bestValAccuracy = loss == nil ? nil : accuracy ?? (1 - loss! / 10)
        if let name { s.run.name = name }
        return s
    }

    func sweep(size: Int, grid: String = #"{"learning_rate":[0.001,0.01,0.1]}"#) -> SweepRecord {
        SweepRecord(id: 1, createdAt: "now", grid: grid, size: size)
    }

    @Test func onlySettingsThatVaryBecomeAxesAndTheConstantOnesAreListed() throws {
        // Given 4 trials over 2 learning rates × 2 activations, every other setting shared
        let trials = try [
            trial(1, lr: 0.01, activation: .sigmoid), trial(2, lr: 0.01, activation: .relu),
            trial(3, lr: 0.1, activation: .sigmoid), trial(4, lr: 0.1, activation: .relu),
        ]
        let summaries = (1...4).map { summary(Int64($0), loss: 0.2 + 0.01 * Double($0)) }

        // When the figures are made
        let figures = SweepFigures(sweep: sweep(size: 4), trials: trials, summaries: summaries)

        // Then the axes are those two, in SweptSetting order, and the rest are constant
        #expect(figures.axes.map(\.setting) == [.learningRate, .activation])
        #expect(figures.constant.contains(SweepFigures.ConstantSetting(setting: .seed, value: "1")))
        #expect(figures.constant.contains(SweepFigures.ConstantSetting(setting: .hidden, value: "100")))
        #expect(!figures.constant.contains { $0.setting == .learningRate })
        // And the plot has an axis per varying setting plus the metric's, a line per trial
        let svg = figures.parallelCoordinates(.bestValLoss)
        #expect(svg.components(separatedBy: "<g class=\"axis\"").count - 1 == 3)
        #expect(svg.components(separatedBy: "<polyline class=\"trial\"").count - 1 == 4)
        #expect(!svg.contains("data-key=\"seed\"") && !svg.contains("data-key=\"hidden\""))
        let html = figures.html(interactive: false)
        #expect(html.contains("<code>seed=1</code>") && html.contains("<code>hidden=100</code>"))
    }

    @Test func aLogRangeSettingGetsALogAxisWithTicksAtDecades() throws {
        // Given learning rates 0.001, 0.01 and 0.1 (two decades: a log list)
        let trials = try [trial(1, lr: 0.001), trial(2, lr: 0.01), trial(3, lr: 0.1)]
        let summaries = (1...3).map { summary(Int64($0), loss: 0.3) }
        let figures = SweepFigures(sweep: sweep(size: 3), trials: trials, summaries: summaries)

        // Then its axis is logarithmic: 0.01 sits halfway between 0.001 and 0.1
        let axis = try #require(figures.axes.first)
        #expect(axis.scale == .log)
        #expect(abs((axis.fraction(of: "0.01") ?? 0) - 0.5) < 1e-9)
        #expect(axis.fraction(of: "0.001") == 0 && abs((axis.fraction(of: "0.1") ?? 0) - 1) < 1e-9)
        #expect(axis.ticks.map(\.label) == ["0.001", "0.01", "0.1"])
        #expect(figures.parallelCoordinates(.bestValLoss).contains(">log scale</text>"))
    }

    @Test func aRandomRangeMarkedLogGivesALogAxisOverTheRange() throws {
        // Given a random search over 0.01:1:log whose two trials drew close values
        let grid = #"{"random":{"learning_rate":"0.01:1:log"}}"#
        let trials = try [trial(1, lr: 0.05), trial(2, lr: 0.08)]
        let figures = SweepFigures(
            sweep: sweep(size: 2, grid: grid), trials: trials,
            summaries: [summary(1, loss: 0.3), summary(2, loss: 0.4)])
        // Then the axis is log over the range, not linear over the values
        let axis = try #require(figures.axes.first)
        #expect(axis.scale == .log)
        #expect(axis.ticks.first?.label == "0.01" && axis.ticks.last?.label == "1")
    }

    @Test func categoricalAxesKeepTheirLabelsWhole() throws {
        // Given hidden layers 256,128 and 100 and two activations
        let trials = try [
            trial(1, hidden: [256, 128], activation: .leakyRelu), trial(2, hidden: [100]),
        ]
        let figures = SweepFigures(
            sweep: sweep(size: 2), trials: trials, summaries: [summary(1, loss: 0.3), summary(2, loss: 0.2)])
        // Then each is a category axis with its values in full, in order
        #expect(figures.axes.map(\.scale) == [.categorical(["100", "256,128"]), .categorical(["leaky-relu", "sigmoid"])])
        let svg = figures.parallelCoordinates(.bestValLoss)
        #expect(svg.contains(">256,128</text>") && svg.contains(">leaky-relu</text>"))
        // And the axes stand far enough apart for their widest labels (written to their left)
        let xs = figures.axisPositions(.bestValLoss)
        #expect(xs[1] - xs[0] >= Double("leaky-relu".count) * 6.8)
        #expect(xs[0] >= Double("256,128".count) * 6.8)
    }

    @Test func theMetricAxisIsBestValidationLossByDefaultAndTestAccuracyOnlyWhereEvaluated() throws {
        let trials = try [trial(1, lr: 0.01), trial(2, lr: 0.1)]
        let summaries = [summary(1, loss: 0.3, accuracy: 0.91), summary(2, loss: 0.2, accuracy: 0.95)]
        // Given no evaluation: loss and validation accuracy only
        let plain = SweepFigures(sweep: sweep(size: 2), trials: trials, summaries: summaries)
        #expect(plain.metrics == [.bestValLoss, .bestValAccuracy])
        // Given run 2 evaluated at its best epoch (2) and at epoch 1
        let evaluated = SweepFigures(
            sweep: sweep(size: 2), trials: trials, summaries: summaries,
            testAccuracies: [2: [(epoch: 1, value: 0.5), (epoch: 2, value: 0.96)]])
        #expect(evaluated.metrics == [.bestValLoss, .bestValAccuracy, .testAccuracy])
        // Then the test accuracy is the best epoch's, and run 1 has none
        #expect(evaluated.trials[1].metrics[.testAccuracy] == 0.96)
        #expect(evaluated.trials[0].metrics[.testAccuracy] == nil)
        // And the page has one plot per metric, the loss shown, a <select> of the three;
        // the static report has the loss's only
        let page = evaluated.html(interactive: true)
        #expect(page.contains("<div class=\"scroll pc\" data-metric=\"best_val_loss\">"))
        #expect(page.contains("<div class=\"scroll pc\" data-metric=\"test_accuracy\" hidden>"))
        #expect(page.contains("<option value=\"test_accuracy\">test accuracy</option>"))
        let report = evaluated.html(interactive: false)
        #expect(report.components(separatedBy: "<svg class=\"parallel\"").count - 1 == 1)
        #expect(!report.contains("<select"))
        // And the best line (lowest loss; highest accuracy) is viridis' yellow end
        #expect(evaluated.parallelCoordinates(.bestValLoss).contains("data-i=\"1\" data-run=\"2\" stroke=\"#fde725\""))
        #expect(evaluated.parallelCoordinates(.bestValAccuracy).contains("data-i=\"1\" data-run=\"2\" stroke=\"#fde725\""))
    }

    @Test func unfinishedTrialsAreDrawnGreyAndDashedWithoutAMetricPoint() throws {
        // Given a completed trial and a pending one without a run
        let trials = try [trial(1, lr: 0.01), trial(2, lr: 0.1, status: .pending, runID: .some(nil))]
        let figures = SweepFigures(sweep: sweep(size: 2), trials: trials, summaries: [summary(1, loss: 0.3)])
        let svg = figures.parallelCoordinates(.bestValLoss)
        // Then the pending one is an "open" line ending at the last setting axis
        #expect(svg.contains("<polyline class=\"trial open\" data-i=\"1\" stroke=\"#9ca3af\" points=\""))
        #expect(svg.contains("no value yet"))
        #expect(figures.isLive)
    }

    @Test func importanceNeedsTwoFinishedTrialsAndNamesItsMethod() throws {
        let one = SweepFigures(
            sweep: sweep(size: 2), trials: try [trial(1, lr: 0.01), trial(2, lr: 0.1, status: .running)],
            summaries: [summary(1, loss: 0.3)])
        let text = one.importanceSection()
        #expect(text.contains("Importance needs at least 2 finished trials; 1 finished trial so far."))
        #expect(text.contains(escape(SweepFindings.method)))
        // Given 6 trials whose loss follows the learning rate only
        let trials = try (1...6).map { try trial($0, lr: [0.01, 0.1, 1][($0 - 1) % 3], seed: UInt64(1 + ($0 - 1) / 3)) }
        let summaries = (1...6).map { summary(Int64($0), loss: [0.5, 0.2, 0.9][($0 - 1) % 3] + 0.001 * Double($0)) }
        let six = SweepFigures(sweep: sweep(size: 6), trials: trials, summaries: summaries)
        let html = six.importanceSection()
        // Then the bars put the learning rate first, with a scatter per varying setting
        #expect(six.findings.importance?.first?.setting == .learningRate)
        #expect(html.contains("<g class=\"share\" data-setting=\"learning_rate\">"))
        #expect(html.components(separatedBy: "<svg class=\"chart scatter\"").count - 1 == 2)
        // And seeds vary: the seed groups are ranked by mean
        #expect(six.seedSection().contains("<code>lr=0.1</code>"))
    }

    @Test func rungsTellPromotedPrunedAndUndecidedTrialsApart() throws {
        // Given an ASHA sweep: trial 1 promoted to the last rung, trial 2 pruned at rung 0,
        // trial 3 paused there
        let trials = try [
            trial(1, lr: 0.01, status: .completed, rung: 1), trial(2, lr: 0.1, status: .pruned, rung: 0),
            trial(3, lr: 1, status: .paused, rung: 0),
        ]
        let rungs = [
            TrialRung(trialID: 1, rung: 0, epoch: 1, valLoss: 0.4, reachedAt: "t", promotedAt: "t"),
            TrialRung(trialID: 1, rung: 1, epoch: 2, valLoss: 0.3, reachedAt: "t", promotedAt: nil),
            TrialRung(trialID: 2, rung: 0, epoch: 1, valLoss: 0.6, reachedAt: "t", promotedAt: nil),
            TrialRung(trialID: 3, rung: 0, epoch: 1, valLoss: 0.5, reachedAt: "t", promotedAt: nil),
        ]
        let curves: [Int64: [(epoch: Int, value: Double)]] = [
            1: [(1, 0.4), (2, 0.3)], 2: [(1, 0.6)], 3: [(1, 0.5)],
        ]
        let figures = SweepFigures(
            sweep: sweep(size: 3), trials: trials, summaries: [summary(1, loss: 0.3), summary(2, loss: 0.6)],
            rungs: rungs, curves: curves)
        // Then the rung epochs are 1 and 2, and each trial's curve says how it fared
        #expect(figures.rungEpochs == [1, 2])
        #expect(figures.curves.map(\.outcome) == [.promoted, .pruned, .open])
        let svg = figures.rungSection()
        #expect(svg.components(separatedBy: "<g class=\"rung\"").count - 1 == 2)
        #expect(svg.contains("<g class=\"curve promoted\" data-run=\"1\">"))
        #expect(svg.contains("<g class=\"curve pruned\" data-run=\"2\">"))
        #expect(svg.contains("<g class=\"curve open\" data-run=\"3\">"))
        // And a trial pruned at the first rung, one point long, is still drawn (a dot)
        #expect(svg.contains("<polyline fill=\"none\" stroke=\"#9ca3af\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\" points=\"62,"))
        #expect(svg.components(separatedBy: "<circle ").count - 1 == 3)
        #expect(svg.contains(">promoted to the last rung</text>") && svg.contains(">pruned (● where it stopped)</text>"))
    }

    @Test func namesFromTheStoreAreEscapedInSVGTableAndEmbeddedJSON() throws {
        let trials = try [trial(1, lr: 0.01), trial(2, lr: 0.1)]
        let figures = SweepFigures(
            sweep: sweep(size: 2), trials: trials,
            summaries: [summary(1, loss: 0.3, name: "<script>alert(1)</script>"), summary(2, loss: 0.2)])
        let page = DashboardPage.sweep(figures)
        #expect(!page.contains("<script>alert"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        let json = figures.embeddedJSON()
        #expect(json.contains("\\u003cscript>alert(1)") && !json.contains("<"))
    }
}
