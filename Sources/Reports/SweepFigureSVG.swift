/// The sweep figures drawn as HTML and inline SVG, the same in `report --sweep` (no script)
/// and on `/sweeps/{id}` (whose script, Assets/sweep.js, adds brushing, hover and the metric
/// choice to what is drawn here): parallel coordinates, importance with a scatter per
/// setting, rungs, and seeds. Every text from the store goes through `escape`.
import Foundation
import Store
import Sweeps

extension SweepFigures {
    /// Every figure, each in its own section. `interactive`: one plot per metric (the page's
    /// <select> shows one) and the trial table the brushes filter; else the default metric only.
    public func html(interactive: Bool) -> String {
        var out = "<section id=\"parallel\"><h2>Trials in parallel coordinates "
        out += "<span class=\"sub\">\(trials.count) trial\(trials.count == 1 ? "" : "s")"
        if unreadable > 0 { out += ", \(unreadable) with settings this build cannot read (not drawn)" }
        out += "</span></h2>\n"
        if !constant.isEmpty {
            out += "<p class=\"constant\"><span class=\"sub\">Constant:</span> "
            out += constant.map { "<code>\(escape($0.setting.column))=\(escape($0.value))</code>" }
                .joined(separator: " ")
            out += "</p>\n"
        }
        if interactive {
            out += "<div class=\"pc-controls\"><label>Metric <select id=\"pc-metric\">"
            for m in metrics {
                out += "<option value=\"\(m.rawValue)\">\(escape(m.title))</option>"
            }
            out += "</select></label> <button type=\"button\" id=\"pc-clear\">Select all (clear filters)</button> "
            out += "<span class=\"sub\">Drag along an axis to keep a range; click it to clear. "
            out += "Click a line to open its run.</span></div>\n"
        }
        if trials.isEmpty {
            out += "<p class=\"empty\">No trials yet.</p>"
        } else {
            for m in interactive ? metrics : [.bestValLoss] {
                out += "<div class=\"scroll pc\" data-metric=\"\(m.rawValue)\"\(m == .bestValLoss ? "" : " hidden")>"
                out += parallelCoordinates(m)
                out += "</div>\n"
            }
        }
        if interactive { out += "<div id=\"pc-tip\" class=\"tip\" hidden></div>" }
        out += trialTable()
        out += "</section>\n"
        out += importanceSection()
        if !curves.isEmpty { out += rungSection() }
        if !findings.seedGroups.isEmpty { out += seedSection() }
        return out
    }

    // MARK: - Parallel coordinates

    /// Layout of the plot: axis x positions leave room for each axis's labels, written to its
    /// left over a white halo, so no label runs into the next axis or under line ends.
    private static let (top, plotHeight, bottom) = (52.0, 300.0, 24.0)
    private static let characterWidth = 6.8
    private static let minimumSpan = 640.0

    func axisPositions(_ metric: Metric) -> [Double] {
        let titles = axes.map { $0.setting.column } + [metric.title]
        let widest = axes.map(\.widestLabel) + [0]
        var xs: [Double] = []
        var x = 0.0
        for k in titles.indices {
            let labels = Double(widest[k]) * Self.characterWidth + 18
            let title = Double(titles[k].count) * Self.characterWidth / 2 + 12
            let before = k == 0 ? max(labels, title) + 8 : max(110, labels + 24, title + (Double(titles[k - 1].count) * Self.characterWidth / 2 + 12))
            x += before
            xs.append(x)
        }
        // Few axes are spread over at least `minimumSpan`, so that lines between them can be
        // told apart; many scroll sideways rather than shrink their labels.
        guard xs.count > 1, let first = xs.first, let last = xs.last, last - first < Self.minimumSpan
        else { return xs }
        let extra = (Self.minimumSpan - (last - first)) / Double(xs.count - 1)
        return xs.enumerated().map { k, x in x + extra * Double(k) }
    }

    /// The plot with `metric` on its last axis: one polyline per trial (data-i: its index in
    /// `trials`), coloured by the metric on viridis (yellow is best); trials without the
    /// metric end at the last setting, grey and dashed.
    func parallelCoordinates(_ metric: Metric) -> String {
        let xs = axisPositions(metric)
        let metricAxis = metricAxis(metric)
        let goodness = colorScale(metric)
        let legendX = (xs.last ?? 0) + 66
        let width = legendX + 110
        let height = Self.top + Self.plotHeight + Self.bottom
        func y(_ fraction: Double) -> Double { Self.top + (1 - fraction) * Self.plotHeight }
        var out = ""
        out.reserveCapacity(trials.count * 160 + 4096)
        // Many lines are drawn without anti-aliasing (sweep.css).
        out += "<svg class=\"parallel\(trials.count > 200 ? " many" : "")\" data-metric=\"\(metric.rawValue)\" xmlns=\"http://www.w3.org/2000/svg\" "
        // Narrower windows scale it down to 80 %, then scroll it.
        out += "width=\"\(coordinate(width))\" height=\"\(coordinate(height))\" style=\"min-width:\(coordinate(width * 0.8))px\" "
        out += "viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" role=\"img\" "
        out += "aria-label=\"trials of sweep \(sweep.id) by setting and \(escape(metric.title))\">\n"
        out += "<g class=\"lines\">"
        // Trials without the metric first, so the coloured ones lie on top of them.
        let order = trials.indices.filter { trials[$0].metrics[metric] == nil }
            + trials.indices.filter { trials[$0].metrics[metric] != nil }
        for i in order {
            let trial = trials[i]
            var points = ""
            for (k, axis) in axes.enumerated() {
                guard let text = trial.settings[axis.setting], let f = axis.fraction(of: text) else { continue }
                if !points.isEmpty { points += " " }
                points += coordinate(xs[k]) + "," + coordinate(y(f))
            }
            let value = trial.metrics[metric]
            if let value {
                points += " " + coordinate(xs[axes.count]) + "," + coordinate(y(metricAxis.fraction(value)))
            }
            let color = value.map { viridis(goodness($0)) } ?? "#9ca3af"
            out += "<polyline class=\"trial\(value == nil ? " open" : "")\" data-i=\"\(i)\""
            if let run = trial.runID { out += " data-run=\"\(run)\"" }
            out += " stroke=\"\(color)\" points=\"\(points)\"><title>trial \(trial.number)"
            out += trial.runID.map { " · run \($0)" } ?? ""
            out += " · \(escape(trial.name)) · \(escape(metric.text(value)))</title></polyline>\n"
        }
        out += "</g>\n"
        // Axes over the lines: the line, its ticks over a halo, the title above, and the
        // area a brush is dragged in.
        for k in 0...axes.count {
            let x = coordinate(xs[k])
            let isMetric = k == axes.count
            let key = isMetric ? metric.rawValue : axes[k].setting.column
            let title = isMetric ? metric.title : axes[k].setting.column
            let ticks: [SettingAxis.Tick] =
                isMetric
                ? metricAxis.ticks.map { .init(fraction: metricAxis.fraction($0), label: Self.metricTick(metric, $0)) }
                : axes[k].ticks
            out += "<g class=\"axis\" data-axis=\"\(k)\" data-key=\"\(escape(key))\">"
            out += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(coordinate(Self.top))\" y2=\"\(coordinate(Self.top + Self.plotHeight))\"/>"
            out += "<text class=\"axis-title\" x=\"\(x)\" y=\"18\" text-anchor=\"middle\">\(escape(title))</text>"
            let kind = isMetric ? (metric.lowerIsBetter ? "lower is better" : "higher is better") : axes[k].scale.name
            out += "<text class=\"axis-kind\" x=\"\(x)\" y=\"34\" text-anchor=\"middle\">\(kind)</text>"
            // The metric's labels go right of its axis, where no line comes.
            let side = isMetric ? 1.0 : -1.0
            for tick in ticks {
                let ty = coordinate(y(tick.fraction))
                out += "<line class=\"tick-mark\" x1=\"\(coordinate(xs[k] + 4 * side))\" x2=\"\(x)\" y1=\"\(ty)\" y2=\"\(ty)\"/>"
                out += "<text class=\"tick\" x=\"\(coordinate(xs[k] + 8 * side))\" y=\"\(ty)\" text-anchor=\"\(isMetric ? "start" : "end")\" "
                out += "dominant-baseline=\"middle\">\(escape(tick.label))</text>"
            }
            out += "<rect class=\"brush\" x=\"\(coordinate(xs[k] - 7))\" width=\"14\" y=\"0\" height=\"0\" visibility=\"hidden\"/>"
            out += "<rect class=\"brush-area\" x=\"\(coordinate(xs[k] - 12))\" width=\"24\" "
            out += "y=\"\(coordinate(Self.top - 4))\" height=\"\(coordinate(Self.plotHeight + 8))\"/></g>\n"
        }
        // The colour legend: viridis from worst (bottom) to best (top).
        out += "<defs><linearGradient id=\"viridis-\(metric.rawValue)\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
        for s in 0...8 {
            let f = Double(s) / 8
            out += "<stop offset=\"\(coordinate(f))\" stop-color=\"\(viridis(f))\"/>"
        }
        out += "</linearGradient></defs>"
        out += "<g class=\"color-legend\"><rect x=\"\(coordinate(legendX))\" y=\"\(coordinate(Self.top))\" width=\"12\" "
        out += "height=\"\(coordinate(Self.plotHeight))\" fill=\"url(#viridis-\(metric.rawValue))\"/>"
        let values = trials.compactMap { $0.metrics[metric] }
        let (best, worst) =
            metric.lowerIsBetter ? (values.min(), values.max()) : (values.max(), values.min())
        out += "<text x=\"\(coordinate(legendX + 18))\" y=\"\(coordinate(Self.top + 4))\" dominant-baseline=\"hanging\">best</text>"
        out += "<text class=\"tick\" x=\"\(coordinate(legendX + 18))\" y=\"\(coordinate(Self.top + 20))\" dominant-baseline=\"hanging\">\(metric.text(best))</text>"
        out += "<text x=\"\(coordinate(legendX + 18))\" y=\"\(coordinate(Self.top + Self.plotHeight - 18))\">worst</text>"
        out += "<text class=\"tick\" x=\"\(coordinate(legendX + 18))\" y=\"\(coordinate(Self.top + Self.plotHeight))\">\(metric.text(worst))</text>"
        if values.count < trials.count {
            out += "<line x1=\"\(coordinate(legendX))\" x2=\"\(coordinate(legendX + 22))\" y1=\"\(coordinate(height - 8))\" "
            out += "y2=\"\(coordinate(height - 8))\" stroke=\"#9ca3af\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>"
            out += "<text class=\"tick\" x=\"\(coordinate(legendX + 26))\" y=\"\(coordinate(height - 8))\" dominant-baseline=\"middle\">no value yet</text>"
        }
        return out + "</g></svg>"
    }

    /// The trials below the plot, best first by the default metric (unmeasured last); each
    /// row's data-i ties it to its line, so the brushes filter it.
    func trialTable() -> String {
        var out = "<p class=\"sub\" id=\"pc-shown\">\(trials.count) of \(trials.count) trials</p>"
        out += "<div class=\"scroll\"><table class=\"runs\" id=\"pc-table\"><thead><tr><th class=\"num\">Trial</th>"
        out += "<th>Run</th><th>Name</th><th>Status</th>"
        if !rungEpochs.isEmpty { out += "<th class=\"num\">Rung</th>" }
        for axis in axes { out += "<th>\(escape(axis.setting.column))</th>" }
        for m in metrics { out += "<th class=\"num\">\(escape(m.title))</th>" }
        out += "</tr></thead><tbody>\n"
        let ranked = trials.indices.sorted {
            (trials[$0].metrics[.bestValLoss] ?? .infinity, trials[$0].number)
                < (trials[$1].metrics[.bestValLoss] ?? .infinity, trials[$1].number)
        }
        for i in ranked {
            let t = trials[i]
            out += "<tr data-i=\"\(i)\"><td class=\"num\">\(t.number)</td><td>"
            out += t.runID.map { "<a href=\"/runs/\($0)\">\($0)</a>" } ?? "–"
            out += "</td><td class=\"wrap\">\(escape(t.name))</td>"
            out += "<td><span class=\"status \(t.status.rawValue)\">\(t.status.rawValue)</span></td>"
            if !rungEpochs.isEmpty { out += "<td class=\"num\">\(t.rung.map(String.init) ?? "–")</td>" }
            for axis in axes { out += "<td>\(escape(t.settings[axis.setting] ?? "–"))</td>" }
            for m in metrics { out += "<td class=\"num\">\(m.text(t.metrics[m]))</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody></table></div>\n"
    }

    // MARK: - Importance

    func importanceSection() -> String {
        var out = "<section id=\"importance\"><h2>Importance <span class=\"sub\">for best validation loss, by "
        out += "\(escape(SweepFindings.method))</span></h2>\n"
        let finished = "\(findings.finished) finished trial\(findings.finished == 1 ? "" : "s")"
        if findings.finished < 2 {
            out += "<p class=\"empty\">Importance needs at least 2 finished trials; \(finished) so far.</p>"
        } else if let shares = findings.importance {
            let rowHeight = 24.0
            let labelWidth = Double(shares.map(\.setting.column.count).max() ?? 8) * Self.characterWidth + 16
            let barWidth = 260.0
            let height = rowHeight * Double(shares.count) + 8
            let width = labelWidth + barWidth + 60
            out += "<p class=\"sub\">Share of the variance of best validation loss over \(finished).</p>"
            out += "<svg class=\"importance\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(coordinate(width))\" "
            out += "height=\"\(coordinate(height))\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" role=\"img\" aria-label=\"importance\">"
            for (k, s) in shares.enumerated() {
                let y = 4 + rowHeight * Double(k)
                out += "<g class=\"share\" data-setting=\"\(escape(s.setting.column))\">"
                out += "<text x=\"\(coordinate(labelWidth - 8))\" y=\"\(coordinate(y + rowHeight / 2))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(escape(s.setting.column))</text>"
                out += "<rect x=\"\(coordinate(labelWidth))\" y=\"\(coordinate(y + 4))\" width=\"\(coordinate(max(1, s.share * barWidth)))\" height=\"\(coordinate(rowHeight - 8))\" fill=\"#2563eb\"/>"
                out += "<text class=\"tick\" x=\"\(coordinate(labelWidth + max(1, s.share * barWidth) + 6))\" y=\"\(coordinate(y + rowHeight / 2))\" dominant-baseline=\"middle\">\(percent(s.share, digits: 1))</text></g>"
            }
            out += "</svg>\n"
        } else if findings.varying.isEmpty {
            out += "<p class=\"empty\">No setting varies among the \(finished).</p>"
        } else {
            out += "<p class=\"empty\">Best validation loss is the same in all \(finished).</p>"
        }
        if let run = findings.bestRunID, !findings.bestSettings.isEmpty {
            out += "<p>Best values found (<a href=\"/runs/\(run)\">run \(run)</a>): "
            out += findings.bestSettings.map { "<code>\(escape($0.setting.column))=\(escape($0.value))</code>" }
                .joined(separator: " ")
            out += "</p>"
        }
        if !axes.isEmpty && trials.contains(where: { $0.metrics[.bestValLoss] != nil }) {
            out += "<h3>Best validation loss against each setting</h3><div class=\"scatters\">"
            for axis in axes { out += scatter(axis) }
            out += "</div>"
        }
        return out + "</section>\n"
    }

    /// Best validation loss against one setting's value: its axis as in the plot (log for a
    /// log setting, a column per category).
    func scatter(_ axis: SettingAxis) -> String {
        let (left, right, top, bottom) = (52.0, 12.0, 12.0, 56.0)
        let (width, height) = (260.0, 200.0)
        let (plotW, plotH) = (width - left - right, height - top - bottom)
        let yAxis = metricAxis(.bestValLoss)
        let goodness = colorScale(.bestValLoss)
        let categories: [String] = if case .categorical(let values) = axis.scale { values } else { [] }
        func px(_ f: Double) -> Double {
            // Categories sit in columns with half a column of margin at each end.
            categories.isEmpty ? left + f * plotW
                : left + (f * Double(categories.count - 1) + 0.5) / Double(categories.count) * plotW
        }
        func py(_ v: Double) -> Double { top + (1 - yAxis.fraction(v)) * plotH }
        var out = "<figure class=\"scatter\"><svg class=\"chart scatter\" data-setting=\"\(escape(axis.setting.column))\" "
        out += "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" "
        out += "role=\"img\" aria-label=\"best validation loss against \(escape(axis.setting.column))\">"
        out += "<rect class=\"frame\" x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(plotW))\" height=\"\(coordinate(plotH))\"/>"
        for tick in yAxis.ticks {
            out += "<text class=\"tick\" x=\"\(coordinate(left - 5))\" y=\"\(coordinate(py(tick)))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tickText(tick))</text>"
        }
        let rotate = axis.ticks.count > 4 || axis.widestLabel > 7
        for tick in axis.ticks {
            let x = coordinate(px(tick.fraction)), y = coordinate(top + plotH + 14)
            out += "<text class=\"tick\" x=\"\(x)\" y=\"\(y)\" "
            out += rotate ? "text-anchor=\"end\" transform=\"rotate(-35 \(x) \(y))\">" : "text-anchor=\"middle\">"
            out += "\(escape(tick.label))</text>"
        }
        for t in trials {
            guard let v = t.metrics[.bestValLoss], let text = t.settings[axis.setting],
                let f = axis.fraction(of: text)
            else { continue }
            out += "<circle cx=\"\(coordinate(px(f)))\" cy=\"\(coordinate(py(v)))\" r=\"3.5\" fill=\"\(viridis(goodness(v)))\" stroke=\"#374151\" stroke-width=\"0.5\">"
            out += "<title>trial \(t.number): \(escape(text)) → \(loss(v))</title></circle>"
        }
        out += "</svg><figcaption>\(escape(axis.setting.column))"
        if axis.scale == .log { out += " <span class=\"sub\">(log scale)</span>" }
        return out + "</figcaption></figure>"
    }

    // MARK: - Rungs

    /// Validation loss against epoch for every trial of a sweep with rungs, the rung epochs
    /// marked, promoted trials solid blue, pruned ones grey and dashed, undecided ones orange.
    func rungSection() -> String {
        let (left, right, top, bottom) = (62.0, 40.0, 44.0, 44.0)
        let (width, height) = (760.0, 360.0)
        let (plotW, plotH) = (width - left - right, height - top - bottom)
        let epochs = curves.flatMap { $0.points.map(\.epoch) }
        let losses = curves.flatMap { $0.points.map(\.value) }.filter(\.isFinite)
        let xAxis = Axis.linear(Double(epochs.min() ?? 1), Double(max(epochs.max() ?? 2, (epochs.min() ?? 1) + 1)), integer: true)
        let yAxis = Axis.linear(losses.min() ?? 0, losses.max() ?? 1, integer: false)
        func px(_ e: Double) -> Double { left + xAxis.fraction(e) * plotW }
        func py(_ v: Double) -> Double { top + (1 - yAxis.fraction(v)) * plotH }
        let styles: [Outcome: (label: String, style: String)] = [
            .promoted: ("promoted to the last rung", "stroke=\"#2563eb\" stroke-width=\"2\""),
            .pruned: ("pruned (● where it stopped)", "stroke=\"#9ca3af\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\""),
            .open: ("not decided yet", "stroke=\"#f59e0b\" stroke-width=\"1.5\""),
        ]
        var out = "<section id=\"rungs\"><h2>Rungs <span class=\"sub\">validation loss by epoch; rungs at epoch"
        out += "\(rungEpochs.count == 1 ? "" : "s") \(rungEpochs.map(String.init).joined(separator: ", "))</span></h2>\n"
        out += "<svg class=\"chart rungs\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" role=\"img\" aria-label=\"validation loss by epoch at rungs\">"
        for tick in yAxis.ticks {
            let y = coordinate(py(tick))
            out += "<line class=\"grid\" x1=\"\(coordinate(left))\" x2=\"\(coordinate(width - right))\" y1=\"\(y)\" y2=\"\(y)\"/>"
            out += "<text class=\"tick\" x=\"\(coordinate(left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tickText(tick))</text>"
        }
        for tick in xAxis.ticks {
            out += "<text class=\"tick\" x=\"\(coordinate(px(tick)))\" y=\"\(coordinate(top + plotH + 16))\" text-anchor=\"middle\">\(tickText(tick))</text>"
        }
        out += "<rect class=\"frame\" x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(plotW))\" height=\"\(coordinate(plotH))\"/>"
        for (k, epoch) in rungEpochs.enumerated() {
            let x = coordinate(px(Double(epoch)))
            out += "<g class=\"rung\" data-epoch=\"\(epoch)\"><line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(coordinate(top))\" y2=\"\(coordinate(top + plotH))\" stroke=\"#7c3aed\" stroke-dasharray=\"3 3\"/>"
            out += "<text class=\"marker-label\" x=\"\(x)\" y=\"\(coordinate(top - 4))\" text-anchor=\"middle\" fill=\"#7c3aed\">rung \(k)</text></g>"
        }
        for outcome in [Outcome.pruned, .open, .promoted] {
            guard let style = styles[outcome] else { continue }
            for c in curves where c.outcome == outcome {
                let points = c.points.filter { $0.value.isFinite }
                    .map { "\(coordinate(px(Double($0.epoch)))),\(coordinate(py($0.value)))" }.joined(separator: " ")
                out += "<g class=\"curve \(outcome.rawValue)\" data-run=\"\(c.runID)\"><title>trial \(c.trial) · run \(c.runID) · "
                out += "\(outcome.rawValue)</title><polyline fill=\"none\" \(style.style) points=\"\(points)\"/>"
                // Where the curve ends: a trial pruned at the first rung has one point only.
                if let end = c.points.last(where: { $0.value.isFinite }) {
                    let color = outcome == .promoted ? "#2563eb" : outcome == .pruned ? "#6b7280" : "#f59e0b"
                    out += "<circle cx=\"\(coordinate(px(Double(end.epoch))))\" cy=\"\(coordinate(py(end.value)))\" r=\"3\" fill=\"\(color)\"/>"
                }
                out += "</g>"
            }
        }
        var x = left
        for outcome in Outcome.allCases {
            guard let style = styles[outcome], curves.contains(where: { $0.outcome == outcome }) else { continue }
            out += "<g class=\"legend\"><line x1=\"\(coordinate(x))\" x2=\"\(coordinate(x + 22))\" y1=\"14\" y2=\"14\" \(style.style)/>"
            out += "<text x=\"\(coordinate(x + 28))\" y=\"14\" dominant-baseline=\"middle\">\(style.label)</text></g>"
            x += 28 + Double(style.label.count) * Self.characterWidth + 18
        }
        out += "<text class=\"axis-label\" x=\"\(coordinate(left + plotW / 2))\" y=\"\(coordinate(height - 6))\" text-anchor=\"middle\">epoch</text>"
        out += "<text class=\"axis-label\" transform=\"translate(14 \(coordinate(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">validation loss</text>"
        return out + "</svg></section>\n"
    }

    // MARK: - Seeds

    /// Each configuration's mean ± standard deviation over its seeds, ranked by mean, as a
    /// table and as error bars.
    func seedSection() -> String {
        let groups = findings.seedGroups
        var out = "<section id=\"seeds\"><h2>Seeds <span class=\"sub\">each configuration over its seeds, ranked by mean best validation loss</span></h2>\n"
        out += "<div class=\"scroll\"><table class=\"runs\"><thead><tr><th class=\"num\">Rank</th><th>Configuration</th>"
        out += "<th class=\"num\">Seeds</th><th class=\"num\">Mean best val loss</th><th class=\"num\">± std</th></tr></thead><tbody>\n"
        for (k, g) in groups.enumerated() {
            out += "<tr><td class=\"num\">\(k + 1)</td><td><code>\(escape(g.configuration))</code></td>"
            out += "<td class=\"num\">\(g.seeds.count)</td><td class=\"num\">\(loss(g.mean))</td>"
            out += "<td class=\"num\">\(loss(g.standardDeviation))</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        let lows = groups.map { $0.mean - ($0.standardDeviation ?? 0) }
        let highs = groups.map { $0.mean + ($0.standardDeviation ?? 0) }
        let axis = Axis.linear(lows.min() ?? 0, highs.max() ?? 1, integer: false)
        let labelWidth = min(360, Double(groups.map(\.configuration.count).max() ?? 10) * Self.characterWidth + 16)
        let (plotW, row) = (360.0, 22.0)
        let width = labelWidth + plotW + 20
        let height = row * Double(groups.count) + 30
        func px(_ v: Double) -> Double { labelWidth + axis.fraction(v) * plotW }
        out += "<div class=\"scroll\"><svg class=\"seeds\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(coordinate(width))\" height=\"\(coordinate(height))\" "
        out += "viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" role=\"img\" aria-label=\"mean and standard deviation over seeds\">"
        for tick in axis.ticks {
            let x = coordinate(px(tick))
            out += "<line class=\"grid\" x1=\"\(x)\" x2=\"\(x)\" y1=\"0\" y2=\"\(coordinate(height - 24))\"/>"
            out += "<text class=\"tick\" x=\"\(x)\" y=\"\(coordinate(height - 8))\" text-anchor=\"middle\">\(tickText(tick))</text>"
        }
        for (k, g) in groups.enumerated() {
            let y = coordinate(row * Double(k) + row / 2)
            let sd = g.standardDeviation ?? 0
            out += "<text x=\"\(coordinate(labelWidth - 8))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(escape(g.configuration))</text>"
            out += "<line x1=\"\(coordinate(px(g.mean - sd)))\" x2=\"\(coordinate(px(g.mean + sd)))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#374151\" stroke-width=\"1.5\"/>"
            out += "<circle cx=\"\(coordinate(px(g.mean)))\" cy=\"\(y)\" r=\"4\" fill=\"#2563eb\"/>"
        }
        return out + "</svg></div></section>\n"
    }
}

/// Viridis at `f` (0 dark purple … 1 yellow), interpolated between nine of its colours.
func viridis(_ f: Double) -> String {
    let stops: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
        (31, 158, 137), (53, 183, 121), (109, 205, 89), (253, 231, 37),
    ]
    let x = min(max(f.isFinite ? f : 0, 0), 1) * Double(stops.count - 1)
    let k = min(Int(x), stops.count - 2)
    let t = x - Double(k)
    let (a, b) = (stops[k], stops[k + 1])
    func channel(_ p: Double, _ q: Double) -> String {
        let v = Int((p + (q - p) * t).rounded())
        let hex = String(v, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }
    return "#" + channel(a.0, b.0) + channel(a.1, b.1) + channel(a.2, b.2)
}
