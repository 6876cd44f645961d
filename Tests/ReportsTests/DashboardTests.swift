import Foundation
import Testing

@testable import Reports
@testable import Store

/// The dashboard's pages, rendered from records made here.
@Suite struct DashboardTests {
    func hostile(_ id: Int64) -> ReportRun {
        var run = ReportRun.sample(id: id, epochs: 4)
        run.summary.run.name = "<script>alert(\(id))</script>"
        run.summary.run.datasetPath = "/tmp/<b>data</b>"
        return run
    }

    @Test func everyPageEscapesNamesAndPaths() {
        let runs = [hostile(1), hostile(2)]
        let report = Report(runs: runs, source: "<db>", generatedAt: "now")
        let sweep = SweepRecord(
            id: 1, createdAt: "<now>", grid: #"{"learning_rate":[0.1,0.2]}"#, size: 2)
        let pages = [
            DashboardPage.runs(runs.map(\.summary), source: "<db>"),
            DashboardPage.run(report, runID: 1),
            DashboardPage.compare(report),
            DashboardPage.sweep(sweep, runs.map(\.summary)),
            DashboardPage.error(status: 404, "no <run>"),
        ]
        for html in pages {
            #expect(!html.contains("<script>alert") && !html.contains("<b>data") && !html.contains("<db>"))
            #expect(!html.contains("<now>") && !html.contains("no <run>"))
        }
        #expect(pages[0].contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func aForkLinksToItsParentAndChildrenOnTheirOwnPages() {
        // Given run 2 forked from run 1 at epoch 2, and run 3 forked from run 2
        let parent = ReportRun.sample(id: 1, epochs: 4)
        var fork = ReportRun.sample(id: 2, epochs: 3, firstEpoch: 3)
        fork.summary.run.parentRunID = 1
        fork.summary.run.parentEpoch = 2
        var child = ReportRun.sample(id: 3, epochs: 1, firstEpoch: 5).run
        child.parentRunID = 2
        child.parentEpoch = 4
        let report = Report(runs: [fork], lineage: [parent], source: "db", generatedAt: "now")

        // When run 2's page is rendered
        let html = DashboardPage.run(report, runID: 2, forks: [child])

        // Then it links to run 1 and run 3's pages, and never to an anchor of a one-page report
        #expect(html.contains("forked from <a href=\"/runs/1\">run 1</a> at epoch 2"))
        #expect(html.contains("forks: <a href=\"/runs/3\">run 3</a> @ 4"))
        #expect(!html.contains("href=\"#run-"))
        // And the parent's curves are drawn behind the fork's, with the fork marked
        #expect(html.contains("class=\"series faded\""))
        #expect(html.contains("<g class=\"marker fork\""))
    }

    @Test func thePadOffersEveryKeptCheckpoint() {
        let report = Report(runs: [.sample(id: 1, epochs: 4)], source: "db", generatedAt: "now")
        let html = DashboardPage.run(report, runID: 1, checkpoints: [2, 4])
        #expect(html.contains(
            "<option value=\"best\">best</option><option value=\"last\">last</option><option value=\"2\">epoch 2</option><option value=\"4\">epoch 4</option></select>"
        ))
    }

    @Test func compareListsOnlyTheSettingsThatDiffer() {
        var a = ReportRun.sample(id: 1, epochs: 3)
        var b = ReportRun.sample(id: 2, epochs: 3)
        a.summary.run.learningRate = 0.05
        b.summary.run.hidden = "300"
        let html = DashboardPage.compare(Report(runs: [a, b], source: "db", generatedAt: "now"))
        #expect(html.contains("<tr><th>learning_rate</th><td>0.05</td><td>0.1</td></tr>"))
        #expect(html.contains("<tr><th>hidden</th><td>100</td><td>300</td></tr>"))
        #expect(!html.contains("<tr><th>batch_size</th>") && !html.contains("<tr><th>name</th>"))
        #expect(html.contains("<svg class=\"chart\" data-chart=\"comparison\""))
    }

    @Test func sweepDrawsOneLinePerTrialAcrossItsSweptSettings() {
        var runs = (1...3).map { ReportRun.sample(id: Int64($0), epochs: 2).summary }
        for (k, lr) in [0.05, 0.1, 0.2].enumerated() { runs[k].run.learningRate = lr }
        runs[2].bestValLoss = nil
        let sweep = SweepRecord(id: 7, createdAt: "now", grid: #"{"learning_rate":[0.05,0.1,0.2]}"#, size: 4)
        let html = DashboardPage.sweep(sweep, runs)
        #expect(html.components(separatedBy: "<polyline class=\"trial\"").count == 4)
        #expect(html.components(separatedBy: "<line class=\"axis\"").count == 3)
        #expect(html.contains("3 of 4 trials: 3 completed"))
        // A trial without epochs is grey and unranked.
        #expect(html.contains("stroke=\"#9ca3af\""))
    }
}
