import Foundation
import Testing

@testable import Reports
@testable import Store

/// The report's HTML, rendered from records made here (no database, no training).
@Suite(.timeLimit(.minutes(10))) struct ReportTests {
    @Test func pageIsSelfContained() {
        // Given a report on one run
        let html = Report(runs: [.sample(id: 1, epochs: 5)], source: "lab.sqlite", generatedAt: "now").html()

        // Then it is one HTML document with its style inline and nothing fetched
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<style>"))
        for external in ["<script", "<link", "<img", "src=", "@import", "url(", "http://", "https://"] {
            #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains(external), "\(external)")
        }
    }

    @Test func runNamesAndPathsAreEscaped() {
        // Given a run whose name and dataset path are markup
        var run = ReportRun.sample(id: 1, epochs: 3)
        run.summary.run.name = "<script>alert('x')</script> & \"co\""
        run.summary.run.datasetPath = "/tmp/<b>data</b>"

        // When it is rendered
        let html = Report(runs: [run], source: "<db>", generatedAt: "now").html()

        // Then the markup appears only as text
        #expect(!html.contains("<script>") && !html.contains("<b>data") && !html.contains("<db>"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"))
        #expect(html.contains("/tmp/&lt;b&gt;data&lt;/b&gt;"))
    }

    @Test func tagsAndNoteAreShownEscaped() {
        // Given a tagged run with a two-line note that holds markup
        var run = ReportRun.sample(id: 1, epochs: 3)
        run.summary.tags = ["baseline", "<i>x</i>"]
        run.summary.run.note = "why: <b>momentum</b>\nsecond line"

        // When it is rendered
        let html = Report(runs: [run], source: "db", generatedAt: "now").html()

        // Then the overview lists the tags and the run's settings show tags and note, as text
        #expect(html.contains("<span class=\"sub\">baseline, &lt;i&gt;x&lt;/i&gt;</span>"))
        #expect(html.contains("<tr><th>Tags</th><td>baseline, &lt;i&gt;x&lt;/i&gt;</td></tr>"))
        #expect(
            html.contains(
                "<tr><th>Note</th><td>why: &lt;b&gt;momentum&lt;/b&gt;\nsecond line</td></tr>"))
    }

    @Test func chartsMarkTheBestEpoch() {
        // Given a run whose validation loss bottoms out at epoch 4 of 6
        let run = ReportRun.sample(id: 1, epochs: 6, bestEpoch: 4)

        // When it is rendered
        let html = Report(runs: [run], source: "db", generatedAt: "now").html()

        // Then a loss and an accuracy chart each draw train and validation and mark epoch 4
        #expect(html.components(separatedBy: "<svg class=\"chart\" data-chart=\"loss\"").count == 2)
        #expect(html.components(separatedBy: "<svg class=\"chart\" data-chart=\"accuracy\"").count == 2)
        #expect(html.components(separatedBy: "<g class=\"marker best\" data-epoch=\"4\">").count == 3)
        #expect(html.contains("data-series=\"validation loss\"") && html.contains("data-series=\"train accuracy\""))
        #expect(html.contains("best: epoch 4"))
    }

    @Test func forkIsDrawnAsAContinuationOfItsParent() throws {
        // Given run 2, forked from run 1 at epoch 3
        let parent = ReportRun.sample(id: 1, epochs: 5)
        var child = ReportRun.sample(id: 2, epochs: 4, firstEpoch: 4)
        child.summary.run.parentRunID = 1
        child.summary.run.parentEpoch = 3

        // When only the fork is reported, with its parent as lineage
        let html = Report(runs: [child], lineage: [parent], source: "db", generatedAt: "now").html()

        // Then the parent's curves are drawn faded, and the fork's curve starts at epoch 3
        #expect(html.contains("class=\"series faded\""))
        #expect(html.contains("<g class=\"marker fork\" data-epoch=\"3\">"))
        #expect(html.contains("forked from run 1"))
        let loss = try #require(polyline(html, series: "validation loss"))
        #expect(loss.count == 5)  // epoch 3 (the parent's) + 4…7
        let parentLoss = try #require(polyline(html, series: "run 1 validation loss"))
        #expect(parentLoss.count == 5)
        // The fork's first point is the parent's point at epoch 3.
        #expect(loss[0] == parentLoss[2])
    }

    @Test func confusionMatrixIsAHeatMapTable() {
        // Given an evaluated run
        var run = ReportRun.sample(id: 1, epochs: 2)
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
        for k in 0..<10 { matrix[k][k] = 90 + k }
        matrix[4][9] = 7
        run.evaluations = [
            EvaluationRecord(
                runID: 1, epoch: 2, datasetChecksum: "crc32:0", testSize: 1000, testLoss: 0.2,
                testAccuracy: 0.94, confusion: matrix, evaluatedAt: "today")
        ]

        // When it is rendered
        let html = Report(runs: [run], source: "db", generatedAt: "now").html()

        // Then a 10×10 table with per-class accuracy shows it, errors shaded red
        #expect(html.contains("<table class=\"confusion\">"))
        #expect(html.contains("title=\"true 4, predicted 9: 7\""))
        #expect(html.contains("rgba(220,38,38,"))
        #expect(html.contains("<td class=\"recall\">93.1%</td>"))  // 94 / (94 + 7)
        #expect(html.contains("accuracy 94.00%"))
    }

    @Test func severalRunsShareAComparisonChart() {
        let html = Report(
            runs: [.sample(id: 1, epochs: 3), .sample(id: 2, epochs: 3)], source: "db",
            generatedAt: "now"
        ).html()
        #expect(html.contains("data-chart=\"comparison\""))
        #expect(html.contains("<section class=\"run\" id=\"run-1\">") && html.contains("<section class=\"run\" id=\"run-2\">"))
    }

    @Test func ticksAreRoundNumbers() {
        #expect(Axis.linear(1, 37, integer: true).ticks == [10, 20, 30])
        #expect(Axis.linear(1, 8, integer: true).ticks == [2, 4, 6, 8])
        #expect(Axis.linear(0.912, 0.981, integer: false).ticks.count >= 4)
        let log = Axis.logarithmic(0.03, 2.3)
        #expect(log.ticks == [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5])
        #expect(Axis.logarithmic(0.004, 2.3).ticks == [0.001, 0.01, 0.1, 1, 10])
        #expect(Axis.logarithmic(0.2, 0.9).ticks == [0.2, 0.5, 1])
    }

    /// The points of the polyline drawn for `series`, as "x,y" strings.
    func polyline(_ html: String, series: String) -> [Substring]? {
        guard let start = html.range(of: "data-series=\"\(series)\"") else { return nil }
        let rest = html[start.upperBound...]
        guard let points = rest.range(of: "points=\""), let end = rest[points.upperBound...].firstIndex(of: "\"")
        else { return nil }
        return rest[points.upperBound..<end].split(separator: " ")
    }
}

extension ReportRun {
    /// A completed run with `epochs` epochs from `firstEpoch`, losses falling then (after
    /// `bestEpoch`) rising.
    static func sample(id: Int64, epochs: Int, firstEpoch: Int = 1, bestEpoch: Int? = nil) -> ReportRun {
        let best = bestEpoch ?? (firstEpoch + epochs - 1)
        let records = (firstEpoch..<(firstEpoch + epochs)).map { e in
            EpochRecord(
                runID: id, epoch: e, trainLoss: 2 / Double(e), trainAccuracy: 1 - 0.5 / Double(e),
                valLoss: 0.3 + 0.05 * abs(Double(e - best)), valAccuracy: 0.9 - 0.01 * abs(Double(e - best)),
                seconds: 1)
        }
        let run = Run(
            id: id, name: "run-\(id)", status: .completed, parentRunID: nil, parentEpoch: nil,
            createdAt: "2026-11-25T08:00:00.000Z", finishedAt: "2026-11-25T09:00:00.000Z",
            learningRate: 0.1, batchSize: 200, epochs: firstEpoch + epochs - 1, hidden: "100",
            activation: "sigmoid", loss: "cross-entropy", momentum: 0, seed: 1, trainSize: 50_000,
            valSize: 10_000, datasetPath: "/data/mnist", datasetChecksum: "crc32:00000000",
            codeVersion: "test", kernelPath: "scalar", keepEvery: 50, failureReason: nil, pid: nil,
            host: nil, heartbeatAt: nil, sweepID: nil)
        let last = records.last
        let bestRecord = records.first { $0.epoch == best }
        let summary = RunSummary(
            run: run, epochsDone: records.count, lastEpoch: last?.epoch, bestEpoch: best,
            bestValLoss: bestRecord?.valLoss, bestValAccuracy: bestRecord?.valAccuracy,
            maxValAccuracy: bestRecord?.valAccuracy, lastTrainLoss: last?.trainLoss,
            lastTrainAccuracy: last?.trainAccuracy, lastValLoss: last?.valLoss,
            lastValAccuracy: last?.valAccuracy, totalSeconds: Double(records.count))
        return ReportRun(summary: summary, epochs: records)
    }
}
