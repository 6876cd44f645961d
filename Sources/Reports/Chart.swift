/// A line chart as inline SVG: axes with round-number ticks, one polyline per series, a
/// legend, and labelled markers (the best epoch, a fork point). No script, no external file.
import Foundation

/// One line of a chart.
struct Series {
    /// The legend's text.
    var label: String
    /// Names the polyline in the page (`data-series`); the label unless given.
    var key: String? = nil
    var points: [(x: Double, y: Double)]
    var color: String
    /// Drawn thin, dashed and pale: a parent run's curve behind its fork's.
    var faded = false
    /// Listed in the legend (a run's parent curves share one entry).
    var inLegend = true
}

/// A labelled point: a ring on the curve, a dashed line down to the x axis.
struct Marker {
    enum Kind: String { case best, fork }
    var kind: Kind
    var x: Double
    var y: Double
    var label: String
    var color: String
}

struct LineChart {
    var name: String
    var title: String
    var xLabel = "epoch"
    var yLabel: String
    var series: [Series]
    var markers: [Marker] = []
    /// Logarithmic y axis (losses span decades); ignored if any value is not positive.
    var logY = false
    var formatY: (Double) -> String = { coordinate($0) }
    var width = 640.0
    var height = 330.0

    private let left = 62.0, right = 18.0, bottom = 44.0

    func svg() -> String {
        let legend = legendLayout()
        let top = 16 + 18 * Double(legend.rows) + 8
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        var out = """
            <svg class="chart" data-chart="\(escape(name))" xmlns="http://www.w3.org/2000/svg" \
            viewBox="0 0 \(coordinate(width)) \(coordinate(height))" role="img" \
            aria-label="\(escape(title))">
            <title>\(escape(title))</title>

            """
        guard let xMin = xs.min(), let xMax = xs.max(), let yMin = ys.min(), let yMax = ys.max()
        else {
            return out + "<text class=\"empty\" x=\"\(coordinate(width / 2))\" "
                + "y=\"\(coordinate(height / 2))\" text-anchor=\"middle\">no epochs yet</text></svg>"
        }
        let xAxis = Axis.linear(xMin, max(xMax, xMin + 1), integer: true)
        let yAxis =
            logY && yMin > 0
            ? Axis.logarithmic(yMin, yMax) : Axis.linear(yMin, yMax, integer: false)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + xAxis.fraction(x) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - yAxis.fraction(y)) * plotHeight }

        // Grid and ticks.
        for tick in yAxis.ticks {
            let y = coordinate(py(tick))
            out +=
                "<line class=\"grid\" x1=\"\(coordinate(left))\" x2=\"\(coordinate(width - right))\" y1=\"\(y)\" y2=\"\(y)\"/>"
            out +=
                "<text class=\"tick\" x=\"\(coordinate(left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(escape(formatY(tick)))</text>\n"
        }
        for tick in xAxis.ticks {
            let x = coordinate(px(tick))
            out +=
                "<line class=\"grid\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(coordinate(top))\" y2=\"\(coordinate(top + plotHeight))\"/>"
            out +=
                "<text class=\"tick\" x=\"\(x)\" y=\"\(coordinate(top + plotHeight + 16))\" text-anchor=\"middle\">\(coordinate(tick))</text>\n"
        }
        out +=
            "<rect class=\"frame\" x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(plotWidth))\" height=\"\(coordinate(plotHeight))\"/>\n"
        out +=
            "<text class=\"axis-label\" x=\"\(coordinate(left + plotWidth / 2))\" y=\"\(coordinate(height - 6))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out +=
            "<text class=\"axis-label\" transform=\"translate(14 \(coordinate(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))\(yAxis.isLog ? " (log scale)" : "")</text>\n"

        // Curves, faded ones first so a run's own curves are on top.
        for s in series.filter(\.faded) + series.filter({ !$0.faded }) {
            let points = s.points.filter { $0.y.isFinite }
            guard !points.isEmpty else { continue }
            let path = points.map { "\(coordinate(px($0.x))),\(coordinate(py($0.y)))" }
                .joined(separator: " ")
            let style =
                s.faded
                ? " stroke-dasharray=\"5 4\" stroke-opacity=\"0.55\" stroke-width=\"1.5\""
                : " stroke-width=\"2\""
            out +=
                "<polyline class=\"series\(s.faded ? " faded" : "")\" data-series=\"\(escape(s.key ?? s.label))\" fill=\"none\" stroke=\"\(s.color)\"\(style) points=\"\(path)\"/>\n"
            // A handful of epochs would otherwise be a few kinks; show each point.
            if points.count <= 30 {
                for p in points {
                    out +=
                        "<circle class=\"point\" cx=\"\(coordinate(px(p.x)))\" cy=\"\(coordinate(py(p.y)))\" r=\"\(s.faded ? "2" : "2.75")\" fill=\"\(s.color)\"\(s.faded ? " fill-opacity=\"0.55\"" : "")/>"
                }
                out += "\n"
            }
        }

        // Markers: a dashed drop line and a ring; their labels are in the legend, where they
        // can't cover a curve.
        for m in markers where m.y.isFinite {
            let x = coordinate(px(m.x)), y = coordinate(py(m.y))
            out += "<g class=\"marker \(m.kind.rawValue)\" data-epoch=\"\(coordinate(m.x))\">"
            out +=
                "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(y)\" y2=\"\(coordinate(top + plotHeight))\" stroke=\"\(m.color)\" stroke-dasharray=\"3 3\"/>"
            out +=
                "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"5.5\" fill=\"white\" stroke=\"\(m.color)\" stroke-width=\"2\"/>"
            out += "<title>\(escape(m.label))</title></g>\n"
        }

        // Legend above the plot, wrapped into rows: curves, then markers.
        for item in legend.items {
            let (x, y) = (coordinate(item.x), coordinate(16 + 18 * Double(item.row)))
            let x2 = coordinate(item.x + 22), text = coordinate(item.x + 28)
            out += "<g class=\"legend\(item.marker ? " legend-marker" : "")\">"
            if item.marker {
                out +=
                    "<circle cx=\"\(coordinate(item.x + 11))\" cy=\"\(y)\" r=\"5\" fill=\"white\" stroke=\"\(item.color)\" stroke-width=\"2\"/>"
                out +=
                    "<text class=\"marker-label\" x=\"\(text)\" y=\"\(y)\" dominant-baseline=\"middle\" fill=\"\(item.color)\">\(escape(item.text))</text></g>\n"
            } else {
                let dash = item.faded ? " stroke-dasharray=\"5 4\" stroke-opacity=\"0.55\"" : ""
                out +=
                    "<line x1=\"\(x)\" x2=\"\(x2)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"\(item.color)\" stroke-width=\"2.5\"\(dash)/>"
                out +=
                    "<text x=\"\(text)\" y=\"\(y)\" dominant-baseline=\"middle\">\(escape(item.text))</text></g>\n"
            }
        }
        return out + "</svg>"
    }

    private struct LegendItem {
        var text: String
        var color: String
        var faded = false
        var marker = false
        var x = 0.0
        var row = 0
    }

    /// Legend entries placed left to right, wrapping before the right edge.
    private func legendLayout() -> (items: [LegendItem], rows: Int) {
        var items = series.filter(\.inLegend).map {
            // One entry stands for all of a parent's curves: drawn grey rather than in the
            // colour of whichever curve carries it.
            LegendItem(text: $0.label, color: $0.faded ? "#6b7280" : $0.color, faded: $0.faded)
        }
        items += markers.filter(\.y.isFinite).map {
            LegendItem(text: $0.label, color: $0.color, marker: true)
        }
        var x = left, row = 0
        for k in items.indices {
            // About 6.6 px per character at 12 px, plus the symbol and a gap.
            let itemWidth = 28 + Double(items[k].text.count) * 6.6 + 18
            if x > left && x + itemWidth > width - right {
                x = left
                row += 1
            }
            items[k].x = x
            items[k].row = row
            x += itemWidth
        }
        return (items, items.isEmpty ? 0 : row + 1)
    }
}

/// Where values fall on an axis, and the round numbers to label.
struct Axis {
    var low: Double
    var high: Double
    var isLog: Bool
    var ticks: [Double]

    func fraction(_ v: Double) -> Double {
        guard high > low else { return 0.5 }
        if isLog { return (log10(v) - log10(low)) / (log10(high) - log10(low)) }
        return (v - low) / (high - low)
    }

    /// Round ticks (1, 2 or 5 × 10ⁿ apart, about six of them) covering `low...high`.
    static func linear(_ low: Double, _ high: Double, integer: Bool) -> Axis {
        var low = low, high = high
        if high == low {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        var step = niceStep((high - low) / 5)
        if integer { step = max(step, 1) }
        let first = (low / step).rounded(.down) * step
        let last = (high / step).rounded(.up) * step
        var ticks: [Double] = []
        var k = 0.0
        while first + k * step <= last + step * 1e-9 {
            ticks.append(first + k * step)
            k += 1
        }
        if integer {
            // Epochs start at 1; don't stretch the axis to 0 for a tick.
            return Axis(
                low: low, high: max(high, low + 1), isLog: false,
                ticks: ticks.filter { $0 >= low && $0 <= high })
        }
        return Axis(low: first, high: last, isLog: false, ticks: ticks)
    }

    /// Decades, with 2 and 5 between them when the range is narrow.
    static func logarithmic(_ low: Double, _ high: Double) -> Axis {
        let mantissas: [Double] = log10(high / low) < 2 ? [1, 2, 5] : [1]
        var candidates: [Double] = []
        var decade = pow10(Int((log10(low)).rounded(.down)))
        while decade <= high * 10 {
            candidates += mantissas.map { $0 * decade }
            decade *= 10
        }
        let lower = candidates.last { $0 <= low } ?? low
        let upper = candidates.first { $0 >= high } ?? high
        let ticks = candidates.filter { $0 >= lower && $0 <= upper }
        return Axis(low: lower, high: max(upper, lower * 1.0001), isLog: true, ticks: ticks)
    }

    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let magnitude = pow10(Int(log10(rough).rounded(.down)))
        let residual = rough / magnitude
        return (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10) * magnitude
    }
}

private func pow10(_ n: Int) -> Double { pow(10, Double(n)) }

/// A tick value with as few decimals as it needs: "2", "0.5", "0.05".
func tickText(_ value: Double) -> String {
    var digits = 0
    while digits < 8,
        abs((value * pow(10, Double(digits))).rounded() - value * pow(10, Double(digits)))
            > 1e-6
    {
        digits += 1
    }
    return fixed(value, digits)
}
