/// The pages of `mnistlab serve`, as pure functions of records: the same charts, settings and
/// confusion matrices as the HTML report, plus the small scripts the live parts need (sorting
/// and filtering the runs table, the run page's server-sent events, the draw-a-digit pad).
/// Every text from the database goes through `escape`; scripts embed only integers.
import Foundation
import Store

public enum DashboardPage {
    /// `/`: every run, newest first, sortable and filterable, with boxes to compare.
    public static func runs(_ runs: [RunListing], source: String) -> String {
        let statuses = Run.Status.allCases.map {
            "<option value=\"\($0.rawValue)\">\($0.rawValue)</option>"
        }.joined()
        let head = """
            <section id="runs">
            <form class="filters" onsubmit="return false">
            <label>Status <select id="f-status"><option value="">any</option>\(statuses)</select></label>
            <label>Name <input id="f-name" type="search" placeholder="contains…"></label>
            <label>Sweep <input id="f-sweep" type="search" inputmode="numeric" placeholder="id"></label>
            <button type="button" id="compare" disabled>Compare selected</button>
            <span class="sub" id="shown">\(runs.count) runs</span>
            </form>
            <div class="scroll"><table class="runs" id="runs-table" data-after="\(runs.map(\.id).max() ?? 0)">
            <thead><tr><th></th><th data-sort="num">Run</th><th data-sort="text">Name</th>\
            <th data-sort="text">Status</th><th data-sort="num">Sweep</th><th>Network</th>\
            <th class="num" data-sort="num">LR</th><th class="num" data-sort="num">Epochs</th>\
            <th class="num" data-sort="num">Best val loss</th>\
            <th class="num" data-sort="num">Best val acc</th><th data-sort="text">Created</th></tr></thead>
            <tbody>

            """
        let tail = """
            </tbody></table></div>
            \(runs.isEmpty ? "<p class=\"empty\">No runs yet: <code>mnistlab train</code> starts one.</p>" : "")
            </section>
            <script>\(runsScript)</script>
            """
        // The rows straight into the page's one buffer: at 5,000 runs the page is 2.6 MB,
        // and each copy of it (into a body, then into the page) was a few milliseconds.
        var html = HTMLBytes(capacity: runs.count * 600 + 64 * 1024)
        page(title: "Runs", heading: "MNISTLab runs", meta: "from \(escape(source))", into: &html) { html in
            html.plain(head)
            for run in runs { appendRunRow(run, to: &html) }
            html.plain(tail)
        }
        return html.string
    }

    /// One row of the runs table, ended by a newline: what `/` lists and what the runs' event
    /// stream sends when a run's status or progress changes.
    public static func runRow(_ run: RunListing) -> String {
        var row = HTMLBytes(capacity: 600)
        appendRunRow(run, to: &row)
        return row.string
    }

    /// The row of `runRow`, appended to `html`. The table sorts by a cell's text, or by its
    /// `data-v` where the text is rounded (losses, accuracies); it filters by the row's status
    /// and sweep and the name cell's text.
    private static func appendRunRow(_ run: RunListing, to html: inout HTMLBytes) {
        let status = run.status.rawValue
        let done = run.lastEpoch ?? 0
        let progress = run.epochs > 0 ? min(100, 100 * done / run.epochs) : 0
        html.markup("<tr data-id=\""); html.number(run.id)
        html.markup("\" data-status=\""); html.text(status)
        html.markup("\" data-sweep=\""); if let sweep = run.sweepID { html.number(sweep) }
        html.markup("\"><td><input type=\"checkbox\" class=\"pick\" value=\""); html.number(run.id)
        html.markup("\" aria-label=\"compare run "); html.number(run.id)
        html.markup("\"></td><td><a href=\"/runs/"); html.number(run.id)
        html.markup("\">"); html.number(run.id)
        html.markup("</a></td><td class=\"wrap\">"); html.text(run.name)
        html.markup("</td><td><span class=\"status "); html.text(status)
        html.markup("\">"); html.text(status)
        html.markup("</span></td><td>")
        if let sweep = run.sweepID {
            html.markup("<a href=\"/sweeps/"); html.number(sweep)
            html.markup("\">"); html.number(sweep); html.markup("</a>")
        } else {
            html.markup("–")
        }
        html.markup("</td><td>"); html.text(run.hidden)
        html.markup(" "); html.text(run.activation)
        html.markup("</td><td class=\"num\">"); html.plain(String(run.learningRate))
        html.markup("</td><td class=\"num\">"); html.number(done)
        html.markup(" / "); html.number(run.epochs)
        html.markup("<span class=\"progress\" title=\""); html.number(progress)
        html.markup("%\"><i style=\"width:"); html.number(progress)
        html.markup("%\"></i></span></td><td class=\"num\" data-v=\"")
        if let best = run.bestValLoss { html.plain(String(best)) }
        html.markup("\">"); html.plain(loss(run.bestValLoss))
        html.markup("</td><td class=\"num\" data-v=\"")
        if let best = run.bestValAccuracy { html.plain(String(best)) }
        html.markup("\">"); html.plain(percent(run.bestValAccuracy))
        html.markup("</td><td>"); html.text(run.createdAt)
        html.markup("</td></tr>\n")
    }

    /// `/runs/{id}`: one run's report section, kept current by server-sent events, and the
    /// draw-a-digit pad.
    /// `checkpoints` are the epochs with kept weights, offered to the pad beside best and last.
    public static func run(
        _ report: Report, runID: Int64, forks: [Run] = [], checkpoints: [Int] = []
    ) -> String {
        guard let r = report.runs.first(where: { $0.run.id == runID }) else {
            return page(title: "Run \(runID)", heading: "Run \(runID)", meta: "", "")
        }
        var family: [String] = []
        if let parent = r.run.parentRunID {
            family.append(
                "forked from <a href=\"/runs/\(parent)\">run \(parent)</a> at epoch \(r.run.parentEpoch ?? 0)")
        }
        if !forks.isEmpty {
            family.append(
                "forks: " + forks.map {
                    "<a href=\"/runs/\($0.id)\">run \($0.id)</a> @ \($0.parentEpoch ?? 0)"
                }.joined(separator: ", "))
        }
        if let sweep = r.run.sweepID { family.append("<a href=\"/sweeps/\(sweep)\">sweep \(sweep)</a>") }
        let last = r.summary.lastEpoch ?? 0
        let pad = r.summary.bestEpoch == nil ? "" : """
            <section id="pad">
            <h2>Draw a digit</h2>
            <div class="pad">
            <canvas id="canvas" width="280" height="280" aria-label="drawing pad"></canvas>
            <div>
            <p><label>Checkpoint <select id="epoch"><option value="best">best</option>\
            <option value="last">last</option>\(checkpoints.map { "<option value=\"\($0)\">epoch \($0)</option>" }.joined())</select></label> \
            <button type="button" id="clear">Clear</button></p>
            <p class="prediction">Prediction: <strong id="label">–</strong> \
            <span class="sub" id="pred-epoch"></span></p>
            <div id="bars">\((0...9).map { "<div class=\"bar\"><span>\($0)</span><i style=\"width:0\"></i><b>0%</b></div>" }.joined())</div>
            </div>
            </div>
            </section>
            """
        let downloads = r.summary.bestEpoch == nil ? "" : """
            <section id="downloads"><h2>Model</h2><p>The best checkpoint as \
            <a href="/runs/\(runID)/model.onnx" download>ONNX</a> (ONNX Runtime, OpenCV, \
            browsers) or <a href="/runs/\(runID)/model.safetensors" download>safetensors</a> \
            (the weights), with the run's id, epoch and scores inside.</p></section>
            """
        let body = """
            <div id="run-section" data-run="\(runID)" data-last-epoch="\(last)" \
            data-status="\(r.run.status.rawValue)">\(section(report, runID))</div>
            \(pad)
            \(downloads)
            <script>\(runScript)</script>
            """
        return page(
            title: "Run \(runID) \(r.run.name)", heading: "Run \(runID)",
            meta: (["<a href=\"/\">all runs</a>"] + family).joined(separator: " · ")
                + "<span id=\"live\"\(r.run.status == .running ? "" : " hidden")> · live: new "
                + "epochs appear as they are recorded</span>",
            body)
    }

    /// The run page's section alone: what the page swaps in when an epoch arrives.
    public static func section(_ report: Report, _ runID: Int64) -> String {
        guard let r = report.runs.first(where: { $0.run.id == runID }) else { return "" }
        // The report links runs within its one page; here each run has its own.
        return report.section(r).replacingOccurrences(of: "href=\"#run-", with: "href=\"/runs/")
    }

    /// `/compare?runs=…`: the runs' validation curves overlaid, and the settings that differ.
    public static func compare(_ report: Report) -> String {
        let runs = report.runs
        var table = "<div class=\"scroll\"><table class=\"diff\"><thead><tr><th>setting</th>"
        for r in runs {
            table += "<th><a href=\"/runs/\(r.run.id)\">run \(r.run.id)</a> "
            table += "<span class=\"sub\">\(escape(r.run.name))</span></th>"
        }
        table += "</tr></thead><tbody>\n"
        let settings = runs.map { settingsOf($0.run) }
        let keys = Set(settings.flatMap(\.keys)).sorted()
        let differing = keys.filter { k in Set(settings.map { $0[k] ?? "" }).count > 1 }
        for k in differing {
            table += "<tr><th>\(escape(k))</th>"
            for s in settings { table += "<td>\(escape(s[k] ?? "–"))</td>" }
            table += "</tr>\n"
        }
        let results: [(String, (RunSummary) -> String)] = [
            ("best epoch", { $0.bestEpoch.map(String.init) ?? "–" }),
            ("best val loss", { loss($0.bestValLoss) }),
            ("best val accuracy", { percent($0.bestValAccuracy) }),
            ("last epoch", { $0.lastEpoch.map(String.init) ?? "–" }),
            ("status", { $0.run.status.rawValue }),
        ]
        for (name, cell) in results {
            table += "<tr class=\"result\"><th>\(escape(name))</th>"
            for r in runs { table += "<td>\(escape(cell(r.summary)))</td>" }
            table += "</tr>\n"
        }
        table += "</tbody></table></div>\n"
        let note = differing.isEmpty ? "<p class=\"sub\">Every setting is the same.</p>" : ""
        let ids = runs.map { "\($0.run.id)" }.joined(separator: ", ")
        let body = report.comparison() + """
            <section id="settings"><h2>Settings that differ</h2>\(note)\(table)</section>
            """
        return page(
            title: "Compare runs \(ids)", heading: "Compare runs \(ids)",
            meta: "<a href=\"/\">all runs</a>", body)
    }

    /// `/sweeps/{id}`: the sweep's figures (SweepFigureSVG.swift) with brushing, hover and the
    /// metric choice (Assets/sweep.js), kept current by the sweep's event stream.
    public static func sweep(_ figures: SweepFigures) -> String {
        let sweep = figures.sweep
        let live = figures.isLive
        let body = """
            <div id="sweep-body" data-sweep="\(sweep.id)" data-live="\(live ? 1 : 0)">\(sweepSection(figures))</div>
            <script>\(sweepScript)</script>
            """
        return page(
            title: "Sweep \(sweep.id)", heading: "Sweep \(sweep.id)",
            meta: "<a href=\"/\">all runs</a> · created \(escape(sweep.createdAt))"
                + "<span id=\"live\"\(live ? "" : " hidden")> · live: the page follows the sweep</span>",
            body)
    }

    /// The sweep page's body alone: what the page swaps in when the sweep changes.
    public static func sweepSection(_ figures: SweepFigures) -> String {
        let sweep = figures.sweep
        let counts = Dictionary(grouping: figures.trials, by: \.status.rawValue)
            .map { "\($0.value.count) \($0.key)" }.sorted().joined(separator: ", ")
        return """
            <section id="summary"><h2>\(figures.trials.count) of \(sweep.size) trials \
            <span class="sub" id="sweep-counts" data-live="\(figures.isLive ? 1 : 0)">\(escape(counts))</span></h2>
            <p class="sub">Grid <code>\(escape(sweep.grid))</code></p></section>
            \(figures.html(interactive: true))
            <script type="application/json" id="sweep-data">\(figures.embeddedJSON())</script>
            """
    }

    /// A page for an error, e.g. an unknown run.
    public static func error(status: Int, _ message: String) -> String {
        page(
            title: "\(status)", heading: "\(status)", meta: "<a href=\"/\">all runs</a>",
            "<section><p>\(escape(message))</p></section>")
    }

    // MARK: - Parts

    static func page(title: String, heading: String, meta: String, _ body: String) -> String {
        var html = HTMLBytes(capacity: body.utf8.count + 64 * 1024)
        page(title: title, heading: heading, meta: meta, into: &html) { $0.plain(body) }
        return html.string
    }

    /// The page around the body that `body` appends to `html`.
    static func page(
        title: String, heading: String, meta: String, into html: inout HTMLBytes,
        body: (inout HTMLBytes) -> Void
    ) {
        html.plain(
            """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · MNISTLab</title>
            <style>\(Report.css)\(css)\(SweepFigures.css)</style>
            </head>
            <body>
            <header><h1>\(escape(heading))</h1><p class="meta">\(meta)</p></header>
            <main>

            """)
        body(&html)
        html.markup("\n</main>\n</body>\n</html>\n")
    }

    /// A run's settings as text by column name (the run's JSON keys), without the fields
    /// every run has its own of.
    static func settingsOf(_ run: Run) -> [String: String] {
        let skip: Set = [
            "id", "name", "created_at", "status", "finished_at", "failure_reason", "pid", "host",
            "heartbeat_at", "owner_token", "lease_expires_at",
        ]
        guard let data = try? JSONEncoder().encode(run),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        var settings: [String: String] = [:]
        for (key, value) in object where !skip.contains(key) {
            settings[key] = value is NSNull ? "–" : "\(value)"
        }
        settings["seed"] = "\(UInt64(bitPattern: run.seed))"
        return settings
    }

    /// The dashboard's styles, after the report's (Assets/dashboard.css).
    static let css = String(decoding: PackageResources.dashboard_css, as: UTF8.self)

    /// The runs page's script (Assets/runs.js).
    static let runsScript = String(decoding: PackageResources.runs_js, as: UTF8.self)

    /// The run page's script (Assets/run.js): it reads the run and its last epoch from
    /// `#run-section`'s data attributes.
    static let runScript = String(decoding: PackageResources.run_js, as: UTF8.self)

    /// The sweep page's script (Assets/sweep.js): brushing, hover, the metric choice, and
    /// following the sweep live; it reads the sweep from `#sweep-body`'s data attributes.
    static let sweepScript = String(decoding: PackageResources.sweep_js, as: UTF8.self)
}
