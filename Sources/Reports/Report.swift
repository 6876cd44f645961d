/// The HTML report: one self-contained page (inline CSS and SVG, no script, no external
/// file) with, for each run, its loss and accuracy curves drawn over its parents', the best
/// epoch marked, its settings, and the confusion matrix of every test-set evaluation.
import Foundation
import Store

/// One run's stored history, as the report draws it.
public struct ReportRun: Sendable {
    public var summary: RunSummary
    public var epochs: [EpochRecord]
    public var evaluations: [EvaluationRecord]
    /// The test images each evaluation got wrong, by its epoch (the dashboard's; the report
    /// has none).
    public var misclassified: [Int: Misclassified]

    public init(
        summary: RunSummary, epochs: [EpochRecord], evaluations: [EvaluationRecord] = [],
        misclassified: [Int: Misclassified] = [:]
    ) {
        self.summary = summary
        self.epochs = epochs
        self.evaluations = evaluations
        self.misclassified = misclassified
    }

    var run: Run { summary.run }
}

/// A report on `runs`; `lineage` holds the runs they were forked from (parents,
/// grandparents…), whose curves are drawn behind theirs.
public struct Report: Sendable {
    public var runs: [ReportRun]
    public var lineage: [ReportRun]
    /// Where the runs came from (the database path), shown in the header.
    public var source: String
    /// When the report was made, shown in the header.
    public var generatedAt: String
    /// For `report --sweep`: the sweep's figures, drawn static after the runs' overview.
    public var sweep: SweepFigures?

    public init(
        runs: [ReportRun], lineage: [ReportRun] = [], source: String, generatedAt: String,
        sweep: SweepFigures? = nil
    ) {
        self.runs = runs
        self.lineage = lineage
        self.source = source
        self.generatedAt = generatedAt
        self.sweep = sweep
    }

    // MARK: - Page

    public func html() -> String {
        let ids = runs.map { "\($0.run.id)" }.joined(separator: ", ")
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>MNISTLab report: run\(runs.count == 1 ? "" : "s") \(escape(ids))</title>
            <style>\(Report.css)\(sweep == nil ? "" : SweepFigures.css)</style>
            </head>
            <body>
            <header>
            <h1>MNISTLab report</h1>
            <p class="meta">\(runs.count) run\(runs.count == 1 ? "" : "s") from <code>\(escape(source))</code> · generated \(escape(generatedAt))</p>
            </header>
            <main>

            """
        if runs.isEmpty {
            page += "<p class=\"empty\">No runs to report.</p>\n"
        } else {
            page += overview()
            // The figures link runs within this one page, as the overview does.
            if let sweep {
                page += sweep.html(interactive: false).replacingOccurrences(of: "href=\"/runs/", with: "href=\"#run-")
            }
            if runs.count > 1 { page += comparison() }
            for run in runs { page += section(run) }
        }
        page += """
            </main>
            <footer>Best epoch = lowest validation loss (earliest on ties). Dashed pale curves are \
            the runs a fork started from. Accuracies are fractions of the validation or test \
            images classified correctly.</footer>
            </body>
            </html>

            """
        return page
    }

    // MARK: - Overview

    private func overview() -> String {
        var out = """
            <section id="overview">
            <h2>Runs</h2>
            <div class="scroll"><table class="runs">
            <thead><tr><th>Run</th><th>Name</th><th>Status</th><th>Forked from</th><th>Network</th>\
            <th>SGD</th><th class="num">Train / val</th>\
            <th class="num">Epochs</th><th class="num">Best epoch</th><th class="num">Best val loss</th>\
            <th class="num">Best val acc</th><th class="num">Test acc</th></tr></thead>
            <tbody>

            """
        for r in runs {
            let s = r.summary, run = r.run
            let test =
                bestEvaluation(r).map {
                    "\(percent($0.testAccuracy)) <span class=\"sub\">@\($0.epoch)</span>"
                } ?? "–"
            out += "<tr>"
            out += "<td><a href=\"#run-\(run.id)\">\(run.id)</a></td>"
            let tags = s.tags.isEmpty ? "" : "<br><span class=\"sub\">\(escape(s.tags.joined(separator: ", ")))</span>"
            out += "<td class=\"wrap\">\(escape(run.name))\(tags)</td>"
            out +=
                "<td><span class=\"status \(escape(run.status.rawValue))\">\(escape(run.status.rawValue))</span>\(s.stoppedEarlyAt.map { "<br><span class=\"sub\">stopped early @\($0)</span>" } ?? "")</td>"
            out +=
                "<td>\(run.parentRunID.map { "run \($0) @ \(run.parentEpoch ?? 0)" } ?? "–")</td>"
            out +=
                "<td>\(escape(network(run)))<br><span class=\"sub\">\(escape(run.loss))</span></td>"
            out +=
                "<td>lr \(run.learningRate), batch \(run.batchSize)<br><span class=\"sub\">momentum \(run.momentum), seed \(UInt64(bitPattern: run.seed))</span></td>"
            out += "<td class=\"num\">\(run.trainSize) / \(run.valSize)</td>"
            out += "<td class=\"num\">\(s.lastEpoch ?? 0) / \(run.epochs)</td>"
            out += "<td class=\"num\">\(s.bestEpoch.map(String.init) ?? "–")</td>"
            out += "<td class=\"num\">\(loss(s.bestValLoss))</td>"
            out += "<td class=\"num\">\(percent(s.bestValAccuracy))</td>"
            out += "<td class=\"num\">\(test)</td>"
            out += "</tr>\n"
        }
        return out + "</tbody></table></div>\n</section>\n"
    }

    /// Every run's validation loss on one chart, forks starting from their parent's point.
    func comparison() -> String {
        let series = runs.enumerated().map { index, r in
            Series(
                label: "run \(r.run.id) \(r.run.name)",
                points: forkStart(r, \.valLoss) + r.epochs.map { (Double($0.epoch), $0.valLoss) },
                color: Report.palette[index % Report.palette.count])
        }
        let chart = LineChart(
            name: "comparison", title: "Validation loss of every run", yLabel: "validation loss",
            series: series, logY: true, formatY: tickText, width: 980, height: 360)
        return """
            <section id="comparison">
            <h2>Validation loss, all runs</h2>
            <figure class="wide">\(chart.svg())</figure>
            </section>

            """
    }

    // MARK: - One run

    func section(_ r: ReportRun) -> String {
        let run = r.run, s = r.summary
        var out = """
            <section class="run" id="run-\(run.id)">
            <h2>Run \(run.id) <span class="name">\(escape(run.name))</span> \
            <span class="status \(escape(run.status.rawValue))">\(escape(run.status.rawValue))</span></h2>

            """
        if let lineage = lineageText(r) { out += "<p class=\"lineage\">\(lineage)</p>\n" }
        if run.status == .failed {
            out += "<p class=\"failure\">This run failed"
            if let reason = run.failureReason, !reason.isEmpty { out += ": \(escape(reason))" }
            out += r.epochs.isEmpty ? " before recording an epoch.</p>\n" : ".</p>\n"
        }
        if r.epochs.isEmpty && ancestors(of: r).isEmpty {
            switch run.status {
            case .running: out += "<p class=\"empty\">No epochs recorded yet.</p>\n"
            case .interrupted: out += "<p class=\"empty\">Interrupted before its first epoch.</p>\n"
            case .completed: out += "<p class=\"empty\">No epochs recorded.</p>\n"
            case .failed: break
            }
        } else {
            out += "<div class=\"charts\">\n"
            out += "<figure>\(lossChart(r).svg())</figure>\n"
            out += "<figure>\(accuracyChart(r).svg())</figure>\n"
            if let chart = learningRateChart(r) { out += "<figure>\(chart.svg())</figure>\n" }
            out += "</div>\n"
        }
        out += settings(r)
        for evaluation in r.evaluations {
            out += confusion(evaluation, run: run, r.misclassified[evaluation.epoch]?.html ?? "")
        }
        if r.evaluations.isEmpty, let best = s.bestEpoch {
            out +=
                "<p class=\"hint\">Not evaluated on the test set yet: <code>mnistlab evaluate \(run.id) --epoch \(best)</code> adds its confusion matrix.</p>\n"
        }
        return out + "</section>\n"
    }

    private func lossChart(_ r: ReportRun) -> LineChart {
        let series = curves(
            r,
            [
                ("train loss", \.trainLoss, Report.trainColor),
                ("validation loss", \.valLoss, Report.valColor),
            ])
        return LineChart(
            name: "loss", title: "Run \(r.run.id) loss per epoch", yLabel: "\(r.run.loss) loss",
            series: series, markers: markers(r, \.valLoss, format: { "val loss \(loss($0))" }),
            logY: true, formatY: tickText)
    }

    private func accuracyChart(_ r: ReportRun) -> LineChart {
        let series = curves(
            r,
            [
                ("train accuracy", \.trainAccuracy, Report.trainColor),
                ("validation accuracy", \.valAccuracy, Report.valColor),
            ])
        return LineChart(
            name: "accuracy", title: "Run \(r.run.id) accuracy per epoch", yLabel: "accuracy",
            series: series,
            markers: markers(r, \.valAccuracy, format: { "val acc \(percent($0))" }),
            formatY: { percent($0, digits: abs($0 * 100 - ($0 * 100).rounded()) < 1e-6 ? 0 : 1) })
    }

    /// The learning rate in effect per epoch, where it varies (a schedule moved it); nil for
    /// a constant rate, which the settings table already gives.
    private func learningRateChart(_ r: ReportRun) -> LineChart? {
        let points = r.epochs.compactMap { e in e.learningRate.map { (x: Double(e.epoch), y: $0) } }
        guard Set(points.map(\.y)).count > 1 else { return nil }
        return LineChart(
            name: "learning-rate", title: "Run \(r.run.id) learning rate per epoch",
            yLabel: "learning rate",
            series: [Series(label: "learning rate (\(r.run.lrSchedule))", points: points, color: Report.trainColor)],
            markers: r.summary.stoppedEarlyAt.flatMap { stop in
                points.last.map {
                    [Marker(kind: .best, x: $0.x, y: $0.y, label: "stopped early after epoch \(stop)", color: Report.bestColor)]
                }
            } ?? [],
            logY: true, formatY: tickText)
    }

    /// The best-epoch marker, and a fork marker where the run left its parent.
    private func markers(
        _ r: ReportRun, _ metric: KeyPath<EpochRecord, Double>, format: (Double) -> String
    ) -> [Marker] {
        var markers: [Marker] = []
        if let parentID = r.run.parentRunID, let epoch = r.run.parentEpoch,
            let parent = find(parentID),
            let point = parent.epochs.first(where: { $0.epoch == epoch })
        {
            markers.append(
                Marker(
                    kind: .fork, x: Double(epoch), y: point[keyPath: metric],
                    label: "forked from run \(parentID)", color: Report.forkColor))
        }
        if let best = r.summary.bestEpoch, let epoch = r.epochs.first(where: { $0.epoch == best }) {
            markers.append(
                Marker(
                    kind: .best, x: Double(best), y: epoch[keyPath: metric],
                    label: "best: epoch \(best), \(format(epoch[keyPath: metric]))",
                    color: Report.bestColor))
        }
        return markers
    }

    /// The parent's point at the fork epoch, so a fork's curve continues its parent's.
    private func forkStart(_ r: ReportRun, _ metric: KeyPath<EpochRecord, Double>) -> [(
        x: Double, y: Double
    )] {
        guard let parentID = r.run.parentRunID, let epoch = r.run.parentEpoch,
            let point = find(parentID)?.epochs.first(where: { $0.epoch == epoch })
        else { return [] }
        return [(Double(epoch), point[keyPath: metric])]
    }

    /// Each ancestor's train and validation curves, pale and dashed, in one legend entry.
    private func ancestorSeries(
        _ r: ReportRun,
        _ metrics: [(name: String, value: KeyPath<EpochRecord, Double>, color: String)]
    ) -> [Series] {
        let chain = ancestors(of: r)
        let legend = chain.count == 1 ? "run \(chain[0].run.id) (parent)" : "parent runs"
        return chain.enumerated().flatMap { k, a in
            metrics.enumerated().map { m, metric in
                Series(
                    label: legend, key: "run \(a.run.id) \(metric.name)",
                    points: forkStart(a, metric.value)
                        + a.epochs.map { (Double($0.epoch), $0[keyPath: metric.value]) },
                    color: metric.color, faded: true, inLegend: k == 0 && m == 0)
            }
        }
    }

    /// The run's own curves, after its ancestors' (drawn behind).
    private func curves(
        _ r: ReportRun,
        _ metrics: [(name: String, value: KeyPath<EpochRecord, Double>, color: String)]
    ) -> [Series] {
        ancestorSeries(r, metrics)
            + metrics.map { metric in
                Series(
                    label: metric.name,
                    points: forkStart(r, metric.value)
                        + r.epochs.map { (Double($0.epoch), $0[keyPath: metric.value]) },
                    color: metric.color)
            }
    }

    /// Where the run comes from and what was forked from it; nil for a run that is neither
    /// a fork nor forked.
    private func lineageText(_ r: ReportRun) -> String? {
        let chain = ancestors(of: r)
        guard let parent = r.run.parentRunID else {
            let children = (runs + lineage).filter { $0.run.parentRunID == r.run.id }.map {
                "<a href=\"#run-\($0.run.id)\">run \($0.run.id)</a> @ \($0.run.parentEpoch ?? 0)"
            }
            return children.isEmpty ? nil : "Forked into \(children.joined(separator: ", "))."
        }
        let link =
            runs.contains { $0.run.id == parent }
            ? "<a href=\"#run-\(parent)\">run \(parent)</a>" : "run \(parent)"
        var text = "Forked from \(link) at epoch \(r.run.parentEpoch ?? 0)"
        if chain.count > 1 {
            text +=
                ", which descends from "
                + chain.dropFirst().map {
                    "run \($0.run.id) @ \($0.run.parentEpoch.map(String.init) ?? "start")"
                }.joined(separator: ", ")
        }
        return text
            + ". Its epochs continue the parent's numbering; the parent's curves are drawn dashed."
    }

    private func settings(_ r: ReportRun) -> String {
        let run = r.run, s = r.summary
        var rows: [(String, String)] = [
            (
                "Network",
                escape(
                    "784 → \(run.hidden.replacingOccurrences(of: ",", with: " → ")) → 10, \(run.activation), softmax, \(run.loss) loss"
                )
            ),
            (
                "SGD",
                escape(
                    "learning rate \(run.learningRate), batch \(run.batchSize), momentum \(run.momentum), seed \(UInt64(bitPattern: run.seed))"
                )
            ),
            (
                "Data",
                escape(
                    "\(run.trainSize) train / \(run.valSize) validation images from \(run.datasetPath) (\(run.datasetChecksum))"
                )
            ),
            (
                "Epochs",
                escape(
                    "\(s.lastEpoch ?? 0) of \(run.epochs) planned, \(s.epochsDone) in this run, \(s.totalSeconds.map { fixed($0, 1) } ?? "0") s"
                )
            ),
            (
                "Best",
                s.bestEpoch.map {
                    "epoch \($0): validation loss \(loss(s.bestValLoss)), accuracy \(percent(s.bestValAccuracy))"
                } ?? "–"
            ),
            (
                "Last",
                s.lastEpoch.map {
                    "epoch \($0): train loss \(loss(s.lastTrainLoss)), validation loss \(loss(s.lastValLoss)), accuracy \(percent(s.lastValAccuracy))"
                } ?? "–"
            ),
            (
                "Recorded",
                escape(
                    "\(run.createdAt) → \(run.finishedAt ?? (run.status == .running ? "still running" : "its process ended without closing it (last sign of life \(run.heartbeatAt ?? "?"))")), mnistlab \(run.codeVersion), \(run.kernelPath) kernels"
                )
            ),
        ]
        if run.lrSchedule != "constant" || run.weightDecay != 0 || run.patience != nil {
            rows.insert(("Controls", escape(controls(run))), at: 2)
        }
        if let stop = s.stoppedEarlyAt {
            rows.insert(
                ("Stopped early", "after epoch \(stop), \(run.patience ?? 0) epochs without improvement"),
                at: 3)
        }
        if !s.tags.isEmpty { rows.insert(("Tags", escape(s.tags.joined(separator: ", "))), at: 0) }
        if let note = run.note { rows.insert(("Note", escape(note)), at: 0) }
        if let sweep = run.sweepID { rows.append(("Sweep", "\(sweep)")) }
        if let reason = run.failureReason { rows.append(("Failure", escape(reason))) }
        return "<table class=\"settings\">\n"
            + rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined(separator: "\n")
            + "\n</table>\n"
    }

    /// "schedule cosine to 0.001, weight decay 0.0001, patience 50 (min delta 0.0)".
    private func controls(_ run: Run) -> String {
        var parts = ["schedule \(run.lrSchedule)" + (run.lrSchedule != "constant" && run.minLearningRate > 0 ? " to \(run.minLearningRate)" : "")]
        parts.append("weight decay \(run.weightDecay)")
        parts.append(run.patience.map { "patience \($0) (min delta \(run.minDelta))" } ?? "no early stopping")
        return parts.joined(separator: ", ")
    }

    // MARK: - Confusion matrix

    /// A heat-map table: rows are true labels, columns predicted ones; each cell is shaded
    /// by its share of the row (blue on the diagonal, red off it).
    /// `after` goes below the table, inside the evaluation's block.
    private func confusion(_ e: EvaluationRecord, run: Run, _ after: String = "") -> String {
        var out = """
            <div class="evaluation" data-epoch="\(e.epoch)">
            <h3>Test set at epoch \(e.epoch): accuracy \(percent(e.testAccuracy)), loss \(loss(e.testLoss)) \
            <span class="sub">\(e.testSize) images, evaluated \(escape(e.evaluatedAt ?? ""))</span></h3>
            <table class="confusion">
            <thead><tr><th class="corner">true ╲ predicted</th>
            """
        for p in e.confusion.indices { out += "<th>\(p)</th>" }
        out += "<th class=\"recall\">accuracy</th></tr></thead>\n<tbody>\n"
        let classAccuracy = e.classAccuracy
        for (t, row) in e.confusion.enumerated() {
            let total = max(row.reduce(0, +), 1)
            out += "<tr><th>\(t)</th>"
            for (p, count) in row.enumerated() {
                let share = Double(count) / Double(total)
                let alpha = count == 0 ? 0 : 0.08 + 0.92 * (t == p ? share : min(1, share * 4))
                let rgb = t == p ? "37,99,235" : "220,38,38"
                let ink = alpha > 0.55 ? " color:#fff;" : ""
                out +=
                    "<td style=\"background:rgba(\(rgb),\(fixed(alpha, 3)));\(ink)\" title=\"true \(t), predicted \(p): \(count)\">\(count == 0 ? "" : "\(count)")</td>"
            }
            out += "<td class=\"recall\">\(percent(classAccuracy[t], digits: 1))</td></tr>\n"
        }
        return out + "</tbody></table>\n\(after)</div>\n"
    }

    // MARK: - Lookups

    private func find(_ id: Int64) -> ReportRun? {
        runs.first { $0.run.id == id } ?? lineage.first { $0.run.id == id }
    }

    /// Parent, grandparent… of `r` that the report has, nearest first.
    private func ancestors(of r: ReportRun) -> [ReportRun] {
        var chain: [ReportRun] = []
        var next = r.run.parentRunID
        while let id = next, let parent = find(id), !chain.contains(where: { $0.run.id == id }) {
            chain.append(parent)
            next = parent.run.parentRunID
        }
        return chain
    }

    /// The evaluation of the best epoch if there is one, else the latest.
    private func bestEvaluation(_ r: ReportRun) -> EvaluationRecord? {
        r.evaluations.first { $0.epoch == r.summary.bestEpoch } ?? r.evaluations.last
    }

    private func network(_ run: Run) -> String {
        "784-\(run.hidden.replacingOccurrences(of: ",", with: "-"))-10 \(run.activation)"
    }

    // MARK: - Style

    static let trainColor = "#2563eb"
    static let valColor = "#ea580c"
    static let bestColor = "#15803d"
    static let forkColor = "#7c3aed"
    static let palette = [
        "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777",
        "#4b5563", "#65a30d",
    ]

    static let css = """

        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2937; background: #f3f4f6; }
        header { padding: 20px 32px 12px; background: #111827; color: #f9fafb; }
        header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; }
        header .meta { margin: 0; color: #d1d5db; }
        header code { color: #f9fafb; }
        main { padding: 8px 32px 24px; max-width: 1400px; }
        section { background: #fff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 16px 20px; margin: 16px 0; }
        h2 { margin: 0 0 10px; font-size: 18px; }
        h2 .name { color: #4b5563; font-weight: 500; }
        h3 { font-size: 15px; margin: 18px 0 8px; }
        .sub { color: #6b7280; font-weight: 400; font-size: 12px; }
        code { font: 12.5px ui-monospace, "SF Mono", Menlo, Consolas, monospace; }
        a { color: #1d4ed8; text-decoration: none; }
        a:hover { text-decoration: underline; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; }
        table.runs { width: 100%; font-size: 13px; }
        table.runs th, table.runs td { padding: 5px 7px; border-bottom: 1px solid #e5e7eb; text-align: left; white-space: nowrap; }
        table.runs thead th { background: #f9fafb; font-weight: 600; color: #374151; white-space: normal; vertical-align: bottom; }
        table.runs td.wrap { white-space: normal; min-width: 14em; }
        .num { text-align: right !important; font-variant-numeric: tabular-nums; }
        .status { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 500; background: #e5e7eb; }
        .status.completed { background: #dcfce7; color: #166534; }
        .status.running { background: #dbeafe; color: #1e40af; }
        .status.interrupted { background: #fef9c3; color: #854d0e; }
        .status.failed { background: #fee2e2; color: #991b1b; }
        .lineage { color: #4b5563; margin: 0 0 8px; }
        .charts { display: flex; flex-wrap: wrap; gap: 16px; }
        figure { margin: 0; }
        .charts figure { flex: 1 1 480px; min-width: 0; }
        figure.wide { max-width: 1000px; }
        svg.chart { width: 100%; height: auto; display: block; font-size: 12px; }
        svg .grid { stroke: #eef0f3; stroke-width: 1; }
        svg .frame { fill: none; stroke: #cbd2d9; }
        svg .tick { fill: #6b7280; font-size: 11px; font-variant-numeric: tabular-nums; }
        svg .axis-label { fill: #374151; font-size: 12px; }
        svg .legend text { fill: #374151; font-size: 12px; }
        svg .marker-label { font-size: 12px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
        svg .empty { fill: #9ca3af; }
        table.settings { margin: 12px 0 4px; font-size: 13px; }
        table.settings th { text-align: left; color: #6b7280; font-weight: 500; padding: 2px 16px 2px 0; vertical-align: top; white-space: nowrap; }
        table.settings td { padding: 2px 0; white-space: pre-line; }
        table.confusion { font-size: 12px; font-variant-numeric: tabular-nums; }
        table.confusion th, table.confusion td { width: 46px; height: 28px; text-align: center; border: 1px solid #e5e7eb; }
        table.confusion thead th, table.confusion tbody th { background: #f9fafb; font-weight: 600; }
        table.confusion th.corner { width: auto; padding: 0 8px; font-weight: 500; color: #6b7280; white-space: nowrap; }
        table.confusion .recall { width: 72px; background: #f9fafb; font-weight: 600; }
        .hint { color: #6b7280; font-size: 13px; }
        .empty { color: #6b7280; }
        .failure { color: #991b1b; background: #fef2f2; border-radius: 6px; padding: 6px 10px; margin: 0 0 8px; }
        footer { padding: 0 32px 24px; color: #6b7280; font-size: 12px; max-width: 1400px; }

        """
}
