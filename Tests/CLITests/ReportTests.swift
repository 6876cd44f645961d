import Foundation
import TestSupport
import Testing

/// `report`: the HTML file it writes, checked as text and as Chromium renders it.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct ReportTests {
    /// A run, a fork of it, and an evaluation of the fork.
    func lineage() throws -> Sandbox {
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "4", "--keep-every", "1", "--name", "<i>seed</i>"])
        try sandbox.run(["resume", "1", "--from", "2", "--learning-rate", "0.3", "--epochs", "5"])
        try sandbox.run(["evaluate", "2"])
        return sandbox
    }

    @Test func reportDrawsEveryRunWithItsParent() throws {
        // Given a fork with an evaluation
        let sandbox = try lineage()

        // When only the fork is reported
        let output = try sandbox.run(["report", "2", "-o", "fork.html"])

        // Then the file has the fork's charts over its parent's and the confusion matrix
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == "Wrote fork.html: 1 run and 1 parent run.\n")
        let html = try String(contentsOf: sandbox.directory.appendingPathComponent("fork.html"), encoding: .utf8)
        #expect(html.contains("<section class=\"run\" id=\"run-2\">") && !html.contains("id=\"run-1\""))
        #expect(html.contains("data-series=\"run 1 validation loss\"") && html.contains("run 1 (parent)"))
        #expect(html.contains("<g class=\"marker fork\" data-epoch=\"2\">"))
        #expect(html.contains("<table class=\"confusion\">"))
        #expect(!html.contains("<i>seed"))
    }

    @Test func reportWithoutOutputIsNamedAfterItsRunsAndSaysWhatItReplaced() throws {
        // Given two runs
        let sandbox = try lineage()

        // When reports of different runs are written without -o, then one again
        let both = try sandbox.run(["report", "1", "2"])
        let one = try sandbox.run(["report", "2"])
        let again = try sandbox.run(["report", "2"])

        // Then each has its own file, and writing one again says it replaced it
        #expect(both.stdout == "Wrote report-1-2.html: 2 runs.\n", "\(both.stderr)")
        #expect(one.stdout == "Wrote report-2.html: 1 run and 1 parent run.\n", "\(one.stderr)")
        #expect(again.stdout == "Replaced report-2.html: 1 run and 1 parent run.\n", "\(again.stderr)")
        for name in ["report-1-2.html", "report-2.html"] {
            #expect(FileManager.default.fileExists(atPath: sandbox.directory.appendingPathComponent(name).path))
        }
    }

    @Test func reportOnASweepOrEveryRun() throws {
        let sandbox = try lineage()
        let all = try sandbox.run(["report", "-o", "-"])
        #expect(all.status == 0 && all.stdout.contains("id=\"run-1\"") && all.stdout.contains("id=\"run-2\""))
        #expect(all.stdout.contains("data-chart=\"comparison\""))
        let missing = try sandbox.run(["report", "--sweep", "4"])
        #expect(missing.status == 1 && missing.stderr == "Error: No sweep with id 4 in this database.\n")
        let unknown = try sandbox.run(["report", "1", "7"])
        #expect(unknown.stderr.hasPrefix("Error: There is no run 7 in this database"))
    }

    @Test(.enabled(if: chromium != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs chromium (apt-get install chromium); CI always runs it"))
    func chromiumRendersTheReport() throws {
        // Given a report on both runs
        let sandbox = try lineage()
        try sandbox.run(["report", "1", "2", "-o", "report.html"])
        let page = sandbox.directory.appendingPathComponent("report.html")
        let browser = try Browser(try #require(chromium, "chromium is not installed"))

        // When headless Chromium loads it (its DOM as --dump-dom prints it, and a screenshot
        // 1280 × 2200)
        try browser.open(page.absoluteString)
        #expect(
            try browser.wait(
                until: "location.href === '\(page.absoluteString)' && document.readyState === 'complete'"))
        let dom = try #require(try browser.evaluate("document.documentElement.outerHTML") as? String)
        _ = try browser.call(
            "Emulation.setDeviceMetricsOverride",
            ["width": 1280, "height": 2200, "deviceScaleFactor": 1, "mobile": false])
        let png = try browser.screenshot()

        // Then the parsed page has its sections, charts, curves and matrix, and a screenshot
        #expect(dom.contains("<title>MNISTLab report: runs 1, 2</title>"))
        #expect(dom.components(separatedBy: "<section class=\"run\"").count == 3)
        #expect(dom.components(separatedBy: "<svg class=\"chart\"").count == 6)  // comparison + 2 per run
        #expect(dom.components(separatedBy: "<polyline").count >= 9)
        #expect(dom.contains("<table class=\"confusion\">"))
        #expect(dom.contains("&lt;i&gt;seed&lt;/i&gt;"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)
        if let keep = ProcessInfo.processInfo.environment["MNISTLAB_KEEP_SCREENSHOT"] {
            try png.write(to: URL(fileURLWithPath: keep))
        }
    }
}

/// Chromium's path, if installed.
let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs `executable`, returning its standard output; fails on a non-zero exit.
func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = process.waitForExit(reading: [out]).output[0]
    #expect(process.terminationStatus == 0, "\(executable) \(arguments) exited \(process.terminationStatus)")
    return String(decoding: data, as: UTF8.self)
}
