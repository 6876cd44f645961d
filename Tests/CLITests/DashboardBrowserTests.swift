import Foundation
import TestSupport
import Testing

/// The dashboard's pages in headless Chromium: curves drawn, epochs arriving live while a
/// run trains (on SQLite and PostgreSQL), the runs table following a run's status, and a
/// digit drawn on the pad classified.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct DashboardBrowserTests {
    static let enabled = chromium != nil || ProcessInfo.processInfo.environment["CI"] != nil

    @Test(
        .enabled(if: enabled, "needs chromium (apt-get install chromium); CI always runs it"),
        arguments: Sandbox.Store.all)
    func runPageDrawsItsCurvesAndGainsEpochsLive(_ kind: Sandbox.Store) throws {
        // Given a run of 2 epochs, its page open in Chromium
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "2", "--keep-every", "1", "--name", "<i>live</i>"])
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url + "runs/1")
        let section = "document.getElementById('run-section')"
        #expect(try browser.wait(until: "\(section) && \(section).dataset.lastEpoch === '2'"))
        let curves = "document.querySelectorAll('#run-section svg.chart polyline.series')"
        #expect(try browser.evaluate("\(curves).length") as? Int == 4)
        #expect(
            try browser.evaluate("document.querySelector('h2 .name').textContent") as? String
                == "<i>live</i>")
        // A mark that a reload would wipe out.
        try browser.evaluate("window.sameDocument = 42")

        // When the run trains on to epoch 6 while the page is open
        let resumed = try sandbox.run(["resume", "1", "--epochs", "6"])
        #expect(resumed.status == 0, "\(resumed.stderr)")

        // Then the page shows epoch 6 without a reload: 6 points per curve, best marked
        #expect(try browser.wait(until: "\(section).dataset.lastEpoch === '6'"))
        let points = "document.querySelectorAll('#run-section svg.chart circle.point').length"
        #expect(try browser.wait(until: "\(points) === 24"))
        #expect(try browser.evaluate("window.sameDocument") as? Int == 42)
        #expect(try browser.evaluate("document.querySelectorAll('#run-section g.marker.best').length") as? Int == 2)
        let png = try browser.screenshot()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)
        #expect(server.stop() != 0 || !server.process.isRunning)
    }

    @Test(
        .enabled(if: enabled, "needs chromium (apt-get install chromium); CI always runs it"),
        arguments: Sandbox.Store.all)
    func runPageStatusFollowsARunThatDies(_ kind: Sandbox.Store) throws {
        // Given a run being trained, its page open in Chromium
        let sandbox = try Sandbox(kind)
        let trainer = try trainUntilKilled(sandbox)
        defer { trainer.send(SIGKILL) }
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url + "runs/1")
        let badge = "document.querySelector('#run-section h2 .status').textContent"
        #expect(try browser.wait(until: "\(badge) === 'running'"))
        try browser.evaluate("window.sameDocument = 42")

        // When its process is killed, so that no epoch comes to say it stopped
        trainer.send(SIGKILL)
        #expect(trainer.wait() == .signal(SIGKILL))

        // Then the page says interrupted, without a reload
        #expect(try browser.wait(until: "\(badge) === 'interrupted'"))
        #expect(try browser.evaluate("window.sameDocument") as? Int == 42)
    }

    @Test(.enabled(if: enabled, "needs chromium (apt-get install chromium); CI always runs it"))
    func theRunsTableSortsAndFilters() throws {
        // Given three runs, two of them named alike
        let sandbox = try Sandbox(.sqlite)
        for (name, rate) in [("alpha-one", "0.5"), ("beta", "0.05"), ("Alpha-two", "0.2")] {
            expectSuccess(try sandbox.train(["--epochs", "1", "--name", name, "--learning-rate", rate]))
        }
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url)
        let ids = "Array.prototype.map.call(document.querySelectorAll('#runs-table tbody tr'), function (r) { return r.hidden ? 'h' + r.dataset.id : r.dataset.id; }).join(',')"
        #expect(try browser.wait(until: "\(ids) === '3,2,1'"))

        // When sorted by learning rate, then by it again, then by name
        func sort(_ column: Int) throws {
            try browser.evaluate("document.querySelectorAll('#runs-table thead th')[\(column)].click()")
        }
        try sort(6)
        #expect(try browser.evaluate(ids) as? String == "2,3,1")
        try sort(6)
        #expect(try browser.evaluate(ids) as? String == "1,3,2")
        // Then by best validation loss, a number read from data-v, not from the rounded text
        try sort(8)
        let losses = "Array.prototype.map.call(document.querySelectorAll('#runs-table tbody tr'), function (r) { return parseFloat(r.cells[8].dataset.v); })"
        let sorted = try #require(try browser.evaluate(losses) as? [Double])
        #expect(sorted == sorted.sorted() && sorted.count == 3)

        // When filtered by a part of the name, in another case
        try browser.evaluate("var f = document.getElementById('f-name'); f.value = 'ALPHA'; f.dispatchEvent(new Event('input'))")
        // Then only the alphas show, and the count says so
        #expect(try browser.evaluate("document.getElementById('shown').textContent") as? String == "2 of 3 runs")
        #expect(try browser.evaluate("\(ids).split(',').filter(function (x) { return x[0] !== 'h'; }).sort().join(',')") as? String == "1,3")
        // And a status that no run has hides them all
        try browser.evaluate("var s = document.getElementById('f-status'); s.value = 'failed'; s.dispatchEvent(new Event('input'))")
        #expect(try browser.evaluate("document.getElementById('shown').textContent") as? String == "0 of 3 runs")
    }

    @Test(
        .enabled(if: enabled, "needs chromium (apt-get install chromium); CI always runs it"),
        arguments: Sandbox.Store.all)
    func theRunsTableFollowsRunsLive(_ kind: Sandbox.Store) throws {
        // Given one finished run, the runs table open in Chromium
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "1"])
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url)
        #expect(try browser.wait(until: "document.querySelectorAll('#runs-table tbody tr').length === 1"))
        try browser.evaluate("window.sameDocument = 42")
        try browser.evaluate("document.querySelector('tr[data-id=\"1\"] .pick').checked = true")

        // When a second run trains 3 epochs
        let trained = try sandbox.train(["--epochs", "3", "--name", "<i>second</i>"])
        #expect(trained.status == 0, "\(trained.stderr)")

        // Then its row appears on top, completed at 3 / 3, without a reload
        let row = "document.querySelector('#runs-table tbody tr')"
        #expect(try browser.wait(until: "\(row).dataset.id === '2' && \(row).dataset.status === 'completed'"))
        #expect(try browser.wait(until: "\(row).cells[7].textContent === '3 / 3'"))
        #expect(try browser.evaluate("\(row).cells[2].textContent") as? String == "<i>second</i>")
        #expect(try browser.evaluate("window.sameDocument") as? Int == 42)
        #expect(try browser.evaluate("document.getElementById('shown').textContent") as? String == "2 of 2 runs")
        // And the untouched row keeps its tick
        #expect(try browser.evaluate("document.querySelector('tr[data-id=\"1\"] .pick').checked") as? Bool == true)
    }

    @Test(.enabled(if: enabled, "needs chromium (apt-get install chromium); CI always runs it"))
    func aStrokeOnThePadGetsAPrediction() throws {
        // Given a trained run's page
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "3"])
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url + "runs/1")
        #expect(try browser.wait(until: "document.getElementById('canvas')"))
        try browser.evaluate("document.getElementById('canvas').scrollIntoView()")
        let box = try #require(
            try browser.evaluate(
                "(function(){var b=document.getElementById('canvas').getBoundingClientRect();return [b.left,b.top,b.width,b.height];})()"
            ) as? [Double])

        // When a vertical stroke (a "1") is drawn with the mouse
        let (x, top, height) = (box[0] + box[2] / 2, box[1] + box[3] * 0.15, box[3] * 0.7)
        try browser.stroke((0...20).map { (x, top + height * Double($0) / 20) })

        // Then the pad shows a label and probability bars that sum to about 100%
        let label = "document.getElementById('label').textContent"
        #expect(try browser.wait(until: "/^[0-9]$/.test(\(label))"))
        let shares = try #require(
            try browser.evaluate(
                "Array.prototype.map.call(document.querySelectorAll('#bars b'), function (b) { return parseFloat(b.textContent); })"
            ) as? [Double])
        #expect(shares.count == 10 && abs(shares.reduce(0, +) - 100) < 1)
        #expect(try browser.evaluate("document.getElementById('pred-epoch').textContent") as? String == "epoch 3")
    }

    @Test(
        .enabled(if: enabled, "needs chromium (apt-get install chromium); CI always runs it"),
        arguments: [1400, 800])
    func aRunPageKeepsItsShape(_ width: Int) throws {
        // Given a finished run evaluated on the test set (so it has images it got wrong)
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        expectSuccess(try sandbox.run(["evaluate", "1"]))
        let server = try RunningServer(sandbox)
        let browser = try Browser(try #require(chromium, "chromium is not installed"))
        try browser.open(server.url + "runs/1")
        _ = try browser.call(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false])
        #expect(try browser.wait(until: "document.getElementById('canvas') && document.querySelector('figure.wrong')"))

        // Then the pad is square, at its 280 px
        let pad = try #require(
            try browser.evaluate(
                "(function(){var b=document.getElementById('canvas').getBoundingClientRect();return [b.width,b.height];})()"
            ) as? [Double])
        #expect(pad == [280, 280], "the pad is \(pad)")
        // And the misclassified digits sit side by side, many to a row, captions under them
        let figures = try #require(
            try browser.evaluate(
                "Array.prototype.map.call(document.querySelectorAll('figure.wrong'), function (f) { var b = f.getBoundingClientRect(); return [b.width, b.top]; })"
            ) as? [[Double]])
        #expect(figures.allSatisfy { $0[0] < 80 }, "figures are \(figures.prefix(3)) wide")
        let firstRow = figures.filter { $0[1] == figures[0][1] }.count
        #expect(firstRow >= min(figures.count, 8), "\(firstRow) digits in the first row")
        // And a finished run that is not a fork says neither "live" nor "A new run"
        #expect(try browser.evaluate("document.getElementById('live').hidden") as? Bool == true)
        #expect(try browser.evaluate("document.body.innerText.indexOf('A new run')") as? Int == -1)
        // And nothing is wider than the window
        #expect(try browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") as? Bool == true)
    }
}
