import Foundation
import Testing

@testable import Reports
@testable import Store

/// The dashboard's pages, rendered from records made here.
@Suite(.timeLimit(.minutes(10))) struct DashboardPageTests {
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
            DashboardPage.runs(runs.map { RunListing($0.summary) }, source: "<db>"),
            DashboardPage.run(report, runID: 1),
            DashboardPage.compare(report),
            DashboardPage.sweep(SweepFigures(sweep: sweep, trials: [], summaries: runs.map(\.summary))),
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

    // MARK: - Live runs table

    @Test func aRunRowShowsItsStatusAndProgressAndIsWhatThePageLists() {
        // Given a run 3 epochs into 12, still running
        var run = RunListing(ReportRun.sample(id: 7, epochs: 3).summary)
        run.epochs = 12
        run.status = .running
        run.name = "<i>seven</i>"

        // When its row and the runs page are rendered
        let row = DashboardPage.runRow(run)
        let page = DashboardPage.runs([run], source: "db")

        // Then the row carries its status, 3 / 12 and a bar a quarter full, escaped
        #expect(row.hasPrefix("<tr data-id=\"7\" data-status=\"running\" "))
        #expect(row.contains("<span class=\"status running\">running</span>"))
        #expect(row.contains("3 / 12<span class=\"progress\" title=\"25%\"><i style=\"width:25%\"></i></span>"))
        #expect(row.contains("&lt;i&gt;seven&lt;/i&gt;") && !row.contains("<i>seven"))
        // And the page lists that very row, and streams changes after the newest run it has
        #expect(page.contains(row))
        #expect(page.contains("id=\"runs-table\" data-after=\"7\""))
        #expect(page.contains("new EventSource('/api/runs/events?after=' + table.dataset.after)"))
        #expect(DashboardPage.runs([], source: "db").contains("data-after=\"0\""))
    }

    // MARK: - Test images got wrong

    func evaluated(_ misclassified: Misclassified) -> Report {
        var run = ReportRun.sample(id: 1, epochs: 4)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
        confusion[7][7] = 8
        confusion[7][1] = 2
        run.evaluations = [
            EvaluationRecord(
                runID: 1, epoch: 4, datasetChecksum: "crc32:0", testSize: 10, testLoss: 0.5,
                testAccuracy: 0.8, confusion: confusion, evaluatedAt: "now")
        ]
        run.misclassified[4] = misclassified
        return Report(runs: [run], source: "db", generatedAt: "now")
    }

    @Test func anEvaluationShowsTheTestImagesItGotWrongUnderItsHeatMap() throws {
        // Given an evaluation that got test images 3 and 8 wrong (7 taken for 1)
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]
        let wrong = [3, 8].map { WrongImage(index: $0, label: 7, predicted: 1, png: png) }

        // When its run page is rendered
        let html = DashboardPage.run(evaluated(.images(wrong, testSize: 10)), runID: 1)

        // Then the heat-map is followed, inside the evaluation's block, by both images inline
        let block = try #require(html.components(separatedBy: "<div class=\"evaluation\" data-epoch=\"4\">").last)
        let table = try #require(block.range(of: "</table>"))
        let grid = try #require(block.range(of: "<div class=\"wrong-grid\">"))
        #expect(table.upperBound <= grid.lowerBound)
        #expect(block.contains("2 of 10 test images classified wrongly"))
        #expect(block.components(separatedBy: "<figure class=\"wrong\"").count == 3)
        #expect(block.contains("title=\"test image 8: true 7, predicted 1\""))
        #expect(block.contains("src=\"data:image/png;base64,\(Data(png).base64EncodedString())\""))
        #expect(block.contains("<figcaption>7→1</figcaption>"))
        // And a checkpoint that got thousands wrong draws the first thousand and says so
        let many = (0..<1_500).map { WrongImage(index: $0, label: 7, predicted: 1, png: png) }
        let long = DashboardPage.run(evaluated(.images(many, testSize: 10_000)), runID: 1)
        #expect(long.components(separatedBy: "<figure class=\"wrong\"").count == 1_001)
        #expect(long.contains("1500 of 10000 test images classified wrongly (the first 1000 shown)"))
    }

    @Test func anEvaluationWhoseTestImagesAreMissingSaysWhyEscaped() {
        let html = DashboardPage.run(
            evaluated(.unavailable("no MNIST test set in /tmp/<gone>")), runID: 1)
        #expect(html.contains(
            "<p class=\"hint wrong-missing\">Test images it got wrong: no MNIST test set in /tmp/&lt;gone&gt;</p>"))
        #expect(!html.contains("<gone>") && !html.contains("<div class=\"wrong-grid\">"))
        // The heat-map is still there.
        #expect(html.contains("<table class=\"confusion\">"))
    }

    @Test func aFinishedRunIsNotCalledLiveAndARunNotForkedIsNotCalledNew() {
        // Given a finished run that is not a fork and has none
        let report = Report(runs: [.sample(id: 1, epochs: 4)], source: "db", generatedAt: "now")

        // Then its page neither calls it live nor says anything of its lineage
        let html = DashboardPage.run(report, runID: 1)
        #expect(html.contains("<span id=\"live\" hidden>"))
        #expect(!html.contains("A new run") && !html.contains("class=\"lineage\""))

        // While a running run's page is live
        var running = ReportRun.sample(id: 2, epochs: 1)
        running.summary.run.status = .running
        let live = DashboardPage.run(Report(runs: [running], source: "db", generatedAt: "now"), runID: 2)
        #expect(live.contains("<span id=\"live\">"))
    }

    @Test func aFailedRunSaysSoAndWhy() {
        // Given a run that failed before its first epoch, and one that failed after two
        var early = ReportRun.sample(id: 1, epochs: 0)
        early.summary.run.status = .failed
        early.summary.run.failureReason = "loss became <NaN>"
        var late = ReportRun.sample(id: 2, epochs: 2)
        late.summary.run.status = .failed
        late.summary.run.failureReason = nil
        let report = Report(runs: [early, late], source: "db", generatedAt: "now")

        // Then each says it failed, with its reason escaped, and neither that no epochs are
        // recorded "yet"
        let first = DashboardPage.section(report, 1)
        #expect(first.contains("This run failed: loss became &lt;NaN&gt; before recording an epoch."))
        #expect(!first.contains("No epochs recorded yet."))
        let second = DashboardPage.section(report, 2)
        #expect(second.contains("This run failed.</p>") && second.contains("<div class=\"charts\">"))
    }

    @Test func theScriptsAndStylesAreTheAssetFiles() throws {
        // The pages carry Assets/*.js and *.css as they are on disk (embedded at build time)
        let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Reports/Assets").standardized
        let report = Report(runs: [.sample(id: 1, epochs: 2)], source: "db", generatedAt: "now")
        let runPage = DashboardPage.run(report, runID: 1)
        let runsPage = DashboardPage.runs([RunListing(ReportRun.sample(id: 1, epochs: 2).summary)], source: "db")
        for (file, page) in [("run.js", runPage), ("runs.js", runsPage), ("dashboard.css", runsPage)] {
            let text = try String(contentsOf: assets.appendingPathComponent(file), encoding: .utf8)
            #expect(page.contains(text), "\(file) is not in its page as it is on disk")
        }
        // And no script is written into a page with values of the run: they read the page
        #expect(!runPage.contains("var run = 1"))
    }
}
