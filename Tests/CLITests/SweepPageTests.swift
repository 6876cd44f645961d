import Foundation
import TestSupport
import Testing

/// The sweep page (`/sweeps/{id}`), its JSON (`/api/sweeps/{id}`) and `report --sweep`'s
/// static figures, over real HTTP on both stores and in headless Chromium: the axes and
/// lines drawn, brushes filtering lines and table, hover naming the run, and the page
/// following a sweep live.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct SweepPageTests {
    static let browserEnabled = chromium != nil || ProcessInfo.processInfo.environment["CI"] != nil

    /// A finished sweep of 2 learning rates × 2 seeds, run 1 renamed to a name that needs
    /// escaping.
    func seededSweep(_ kind: Sandbox.Store) throws -> Sandbox {
        let sandbox = try Sandbox(kind)
        expectSuccess(try sandbox.run([
            "sweep", "--learning-rate", "0.05,0.5", "--seed", "1,2", "--hidden", "16", "--epochs", "1",
            "--val-size", "200", "--batch-size", "100",
        ]))
        expectSuccess(try sandbox.run(["rename", "1", "<script>alert(1)</script>"]))
        return sandbox
    }

    func object(_ reply: HTTPReply) throws -> [String: Any] {
        try #require(reply.json as? [String: Any], "\(reply.status) \(reply.text)")
    }

    @Test(arguments: Sandbox.Store.all)
    func theSweepAPICarriesTrialsMetricsImportanceAndSeedsAsSweepsJSONDoes(_ kind: Sandbox.Store) throws {
        // Given a finished sweep, its first run evaluated on the test set, served
        let sandbox = try seededSweep(kind)
        expectSuccess(try sandbox.run(["evaluate", "1"]))
        let server = try RunningServer(sandbox)

        // When its JSON is asked for
        let reply = try HTTP.get(server.port, "/api/sweeps/1")
        #expect(reply.status == 200)
        let json = try object(reply)

        // Then it keeps the sweep's row and runs
        #expect(json["id"] as? Int == 1 && json["size"] as? Int == 4 && json["grid"] is String)
        #expect((json["runs"] as? [[String: Any]])?.count == 4)
        // And has each trial's number, status, run, settings and metrics
        let trials = try #require(json["trials"] as? [[String: Any]])
        #expect(trials.compactMap { $0["number"] as? Int } == [1, 2, 3, 4])
        #expect(trials.allSatisfy { $0["status"] as? String == "completed" && $0["run_id"] is Int })
        let rates = trials.compactMap {
            (($0["settings"] as? [String: Any])?["hyperparameters"] as? [String: Any])?["learning_rate"] as? Double
        }
        #expect(Set(rates) == [0.05, 0.5])
        #expect(trials.allSatisfy { (($0["metrics"] as? [String: Double])?["best_val_loss"]) != nil })
        // And the axes of the settings that vary, the metrics, no rungs
        let axes = try #require(json["axes"] as? [[String: Any]])
        #expect(axes.compactMap { $0["setting"] as? String } == ["learning_rate", "seed"])
        #expect(axes.last?["scale"] as? String == "categorical" && axes.last?["values"] as? [String] == ["1", "2"])
        #expect(
            (json["metrics"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                == ["best_val_loss", "best_val_accuracy", "test_accuracy"])
        // And test accuracy where a run was evaluated: the evaluation's
        let evaluated = try sandbox.run(["sql", "--csv", "SELECT test_accuracy FROM evaluations WHERE run_id = 1"])
        let accuracy = try #require(evaluated.lines.last.flatMap(Double.init))
        let first = trials.first { $0["run_id"] as? Int == 1 }
        let shown = try #require((first?["metrics"] as? [String: Double])?["test_accuracy"])
        #expect(abs(shown - accuracy) < 1e-9)
        #expect(trials.filter { (($0["metrics"] as? [String: Double])?["test_accuracy"]) != nil }.count == 1)
        #expect((json["rungs"] as? [Any])?.isEmpty == true)
        #expect((json["constant"] as? [String: String])?["hidden"] == "16")
        // And importance, best settings and seed groups are `sweeps 1 --json`'s
        let cli = try #require(
            try JSONSerialization.jsonObject(with: Data(try sandbox.run(["sweeps", "1", "--json"]).stdout.utf8))
                as? [String: Any])
        for key in ["importance", "best_settings", "seed_groups"] {
            #expect((json[key] as? NSObject) == (cli[key] as? NSObject), "\(key)")
        }
        #expect((json["seed_groups"] as? [Any])?.count == 2)

        // And an unknown sweep or a bad id is refused as before
        #expect(try HTTP.get(server.port, "/api/sweeps/9").status == 404)
        #expect(try HTTP.get(server.port, "/api/sweeps/x").status == 400)
        #expect(try HTTP.get(server.port, "/api/sweeps/9/events").status == 404)
        #expect(try HTTP.get(server.port, "/sweeps/9/section").status == 404)
    }

    @Test(arguments: Sandbox.Store.all)
    func theSweepPageDrawsEveryFigureEscapedAndStreamsChanges(_ kind: Sandbox.Store) throws {
        // Given a finished sweep, served
        let sandbox = try seededSweep(kind)
        let server = try RunningServer(sandbox)

        // When its page is asked for
        let page = try HTTP.get(server.port, "/sweeps/1")

        // Then it draws the plot (a line per trial for each of its 2 metrics), importance,
        // scatters, seeds and the trial table
        #expect(page.status == 200)
        #expect(page.text.components(separatedBy: "<svg class=\"parallel\"").count - 1 == 2)
        #expect(page.text.components(separatedBy: "<polyline class=\"trial\"").count - 1 == 8)
        #expect(page.text.contains("data-key=\"learning_rate\"") && page.text.contains("data-key=\"seed\""))
        #expect(!page.text.contains("data-key=\"hidden\"") && page.text.contains("<code>hidden=16</code>"))
        #expect(page.text.contains("<section id=\"importance\">") && page.text.contains("fANOVA over a random forest"))
        #expect(page.text.contains("<section id=\"seeds\">") && !page.text.contains("<section id=\"rungs\">"))
        #expect(page.text.contains("<p class=\"sub\" id=\"pc-shown\">4 of 4 trials</p>"))
        // And the hostile run name is escaped everywhere, the embedded JSON included
        #expect(!page.text.contains("<script>alert") && page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.text.contains("data-live=\"0\"") && page.text.contains("<span id=\"live\" hidden>"))
        // And its body alone, for live updates, is the same body
        let section = try HTTP.get(server.port, "/sweeps/1/section")
        #expect(section.status == 200 && page.text.contains(section.text))
        // And the sweep's event stream says at once that there is a state to show
        let events = try HTTP.stream(server.port, "/api/sweeps/1/events") { $0.contains("data: ") }
        #expect(events.contains("data: {\"changes\":1}"))
        #expect(server.stop() != 0 || !server.process.isRunning)
    }

    @Test func aSweepReportDrawsTheFiguresWithoutAScript() throws {
        // Given a finished sweep
        let sandbox = try seededSweep(.sqlite)

        // When it is reported
        let report = try sandbox.run(["report", "--sweep", "1", "-o", "-"])

        // Then the report has the plot, importance and seeds as SVG, and no script at all
        expectSuccess(report)
        let html = report.stdout
        #expect(html.components(separatedBy: "<svg class=\"parallel\"").count - 1 == 1)
        #expect(html.components(separatedBy: "<polyline class=\"trial\"").count - 1 == 4)
        #expect(html.contains("<section id=\"importance\">") && html.contains("<section id=\"seeds\">"))
        #expect(!html.lowercased().contains("<script"))
        // And its run links point inside the report
        #expect(html.contains("href=\"#run-") && !html.contains("href=\"/runs/"))
    }

    // MARK: - In Chromium

    /// The number of lines drawn and not filtered out in the plot shown.
    let visibleLines = "document.querySelectorAll('div.pc:not([hidden]) polyline.trial:not(.out)').length"
    let visibleRows = "document.querySelectorAll('#pc-table tbody tr:not([hidden])').length"
    let shown = "document.getElementById('pc-shown').textContent"

    /// The page rectangle of an axis's brush area in the plot shown: [x, top, height].
    func brushArea(_ browser: Browser, _ key: String) throws -> [Double] {
        try #require(
            try browser.evaluate(
                "(function(){var r=document.querySelector('div.pc:not([hidden]) g.axis[data-key=\"\(key)\"] rect.brush-area').getBoundingClientRect();return [r.left+r.width/2,r.top,r.height];})()"
            ) as? [Double])
    }

    /// Drags along an axis from `from` to `to` (fractions of its brush area, 0 at the top).
    func brush(_ browser: Browser, _ key: String, from: Double, to: Double) throws {
        let area = try brushArea(browser, key)
        let ys = (0...10).map { area[1] + area[2] * (from + (to - from) * Double($0) / 10) }
        try browser.stroke(ys.map { (area[0], $0) })
    }

    @Test(.enabled(if: browserEnabled, "needs chromium (apt-get install chromium); CI always runs it"))
    func brushesOnTheAxesFilterTheLinesAndTheTableAndHoverNamesTheRun() throws {
        // Given a finished sweep of 3 learning rates × 2 activations, its page open
        let sandbox = try Sandbox()
        expectSuccess(try sandbox.run([
            "sweep", "--learning-rate", "0.01,0.1,0.5", "--activation", "sigmoid,relu", "--hidden", "16",
            "--epochs", "1", "--val-size", "200", "--batch-size", "100",
        ]))
        let server = try RunningServer(sandbox)
        let api = try #require(try HTTP.get(server.port, "/api/sweeps/1").json as? [String: Any])
        let trials = try #require(api["trials"] as? [[String: Any]])
        func setting(_ t: [String: Any], _ key: String) -> Any? {
            ((t["settings"] as? [String: Any])?["hyperparameters"] as? [String: Any])?[key]
        }
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url + "sweeps/1")
        #expect(try browser.wait(until: "\(shown) === '6 of 6 trials'"))
        #expect(try browser.evaluate(visibleLines) as? Int == 6)
        #expect(try browser.evaluate("document.querySelectorAll('div.pc:not([hidden]) g.axis').length") as? Int == 3)

        // When the learning-rate axis is brushed over its top half (0.5 is at the top of 0…0.5)
        try brush(browser, "learning_rate", from: 0.01, to: 0.5)

        // Then only the lines of lr 0.5 stay, and the table and count follow
        let high = trials.filter { setting($0, "learning_rate") as? Double == 0.5 }
        // (the lines at the next frame, the table once the drag ends)
        #expect(try browser.wait(until: "\(visibleLines) === \(high.count)"))
        #expect(try browser.wait(until: "\(visibleRows) === \(high.count)"))
        #expect(try browser.evaluate(shown) as? String == "\(high.count) of 6 trials")

        // When the activation axis (relu below sigmoid) is brushed over its top half too
        try brush(browser, "activation", from: 0.01, to: 0.5)

        // Then the two brushes combine: lr 0.5 and sigmoid
        let both = high.filter { setting($0, "activation") as? String == "sigmoid" }
        #expect(both.count == 1)
        #expect(try browser.wait(until: "\(visibleLines) === \(both.count)"))
        #expect(try browser.wait(until: "\(visibleRows) === \(both.count)"))
        let kept = try #require(both.first?["number"] as? Int)
        let row = "document.querySelector('#pc-table tbody tr:not([hidden]) td').textContent"
        #expect(try browser.evaluate(row) as? String == "\(kept)")

        // When the activation axis is clicked, its brush goes; the select-all button clears all
        let area = try brushArea(browser, "activation")
        try browser.stroke([(area[0], area[1] + area[2] * 0.8)])
        #expect(try browser.wait(until: "\(visibleLines) === \(high.count)"))
        try browser.evaluate("document.getElementById('pc-clear').click()")
        #expect(try browser.wait(until: "\(visibleLines) === 6 && \(visibleRows) === 6"))

        // When the mouse rests on a line
        let at = try #require(
            try browser.evaluate(
                """
                (function(){var l=document.querySelector('div.pc:not([hidden]) polyline.trial');
                var a=l.points.getItem(0), b=l.points.getItem(1), m=l.getScreenCTM();
                var x=(a.x+b.x)/2, y=(a.y+b.y)/2;
                return [m.a*x+m.c*y+m.e, m.b*x+m.d*y+m.f];})()
                """) as? [Double])
        let under = try #require(
            try browser.evaluate("document.elementFromPoint(\(at[0]), \(at[1])).dataset.run") as? String)
        try browser.call("Input.dispatchMouseEvent", ["type": "mouseMoved", "x": at[0], "y": at[1]])

        // Then a tip names that line's run, and the line is highlighted
        #expect(try browser.wait(until: "!document.getElementById('pc-tip').hidden"))
        let tip = try browser.evaluate("document.getElementById('pc-tip').textContent") as? String ?? ""
        #expect(tip.contains("run \(under) · sweep-1/"), "\(tip)")
        #expect(try browser.evaluate("document.querySelector('polyline.trial.hot').dataset.run") as? String == under)

        // And another metric shows its own plot
        try browser.evaluate("var s=document.getElementById('pc-metric'); s.value='best_val_accuracy'; s.dispatchEvent(new Event('change'))")
        #expect(try browser.wait(until: "document.querySelector('div.pc:not([hidden])').dataset.metric === 'best_val_accuracy'"))
        #expect(try browser.evaluate(visibleLines) as? Int == 6)
    }

    @Test(.enabled(if: browserEnabled, "needs chromium (apt-get install chromium); CI always runs it"))
    func theSweepPageFollowsASweepWhileItRuns() throws {
        // Given a sweep of 2 trials created but not trained, its page open
        let sandbox = try Sandbox()
        expectSuccess(try sandbox.run([
            "sweep", "--learning-rate", "0.05,0.5", "--hidden", "16", "--epochs", "2", "--val-size", "200",
            "--batch-size", "100", "--detach",
        ]))
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url + "sweeps/1")
        #expect(try browser.wait(until: "document.getElementById('sweep-body') && document.getElementById('sweep-body').dataset.live === '1'"))
        #expect(try browser.evaluate("document.getElementById('live').hidden") as? Bool == false)
        try browser.evaluate("window.sameDocument = 42")

        // When a worker trains its trials
        expectSuccess(try sandbox.run(["worker", "--sweep", "1"]))

        // Then the page shows both trials completed, without a reload, and stops being live
        #expect(try browser.wait(until: "document.querySelectorAll('#pc-table .status.completed').length === 2", seconds: 60))
        #expect(try browser.wait(until: "document.getElementById('live').hidden"))
        #expect(try browser.evaluate("window.sameDocument") as? Int == 42)
        #expect(try browser.evaluate("document.querySelectorAll('div.pc:not([hidden]) polyline.trial:not(.open)').length") as? Int == 2)
    }
}
