import Foundation

/// A line chart drawn as SVG, for the plots `loom` writes: axes with ticks and tick labels,
/// axis titles, a legend, and a marker at every point. Several charts stack into one SVG
/// (`LineChart.document`), one panel each.
struct LineChart {
    /// One line: its points in data units, drawn solid or dashed, each point marked (and
    /// labelled, when `labels` is given).
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var color: String
        var dashed = false
        var marked = true
        var labels: [String]? = nil
    }

    var title: String
    var xTitle: String
    var yTitle: String
    var series: [Series]
    /// The x values that get a tick (nil: evenly spaced round values).
    var xTicks: [Double]? = nil
    /// A y axis in powers of ten, for values over several decades (only when all are positive).
    var logarithmic = false

    static let width = 560.0, panelHeight = 300.0
    private static let (left, right, top, bottom) = (70.0, 20.0, 52.0, 46.0)
    /// Colours for series in order (matplotlib's first four).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]

    /// One SVG document holding `charts` one below the other.
    static func document(_ charts: [LineChart]) -> String {
        let height = panelHeight * Double(charts.count)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (index, chart) in charts.enumerated() {
            svg += "<g transform=\"translate(0,\(Int(panelHeight) * index))\">\n" + chart.body() + "</g>\n"
        }
        return svg + "</svg>\n"
    }

    /// Whether values this spread (the finite ones) read better on a logarithmic axis.
    static func wantsLogarithmic(_ values: [Double]) -> Bool {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), low > 0 else { return false }
        return high / low > 100
    }

    /// The panel's elements, in a `panelHeight`-tall box from the origin.
    private func body() -> String {
        let all = series.flatMap(\.points).filter { $0.y.isFinite && (!logarithmic || $0.y > 0) }
        guard !all.isEmpty else { return text(LineChart.width / 2, 20, title + " (no values)", anchor: "middle") }
        let xRange = LineChart.padded(all.map(\.x).min()!, all.map(\.x).max()!)
        let yValues = all.map { logarithmic ? log10($0.y) : $0.y }
        let yRange =
            logarithmic
            ? (yValues.min()!.rounded(.down), max(yValues.max()!.rounded(.up), yValues.min()!.rounded(.down) + 1))
            : LineChart.padded(yValues.min()!, yValues.max()!)
        let (plotWidth, plotHeight) = (
            LineChart.width - LineChart.left - LineChart.right, LineChart.panelHeight - LineChart.top - LineChart.bottom
        )
        func px(_ x: Double) -> Double { LineChart.left + (x - xRange.0) / (xRange.1 - xRange.0) * plotWidth }
        func py(_ y: Double) -> Double {
            let value = logarithmic ? log10(y) : y
            return LineChart.top + plotHeight - (value - yRange.0) / (yRange.1 - yRange.0) * plotHeight
        }
        let (x0, x1, y0, y1) = (LineChart.left, LineChart.left + plotWidth, LineChart.top + plotHeight, LineChart.top)
        var svg = text(LineChart.width / 2, 20, title, anchor: "middle")
        svg += line(x0, y0, x1, y0) + line(x0, y0, x0, y1)
        svg += text((x0 + x1) / 2, LineChart.panelHeight - 8, xTitle, anchor: "middle")
        svg +=
            "<text x=\"16\" y=\"\(f((y0 + y1) / 2))\" transform=\"rotate(-90 16 \(f((y0 + y1) / 2)))\" text-anchor=\"middle\">"
            + LineChart.escaped(yTitle) + "</text>\n"
        for tick in xTicks ?? LineChart.ticks(xRange.0, xRange.1) where tick >= xRange.0 && tick <= xRange.1 {
            svg += line(px(tick), y0, px(tick), y0 + 5) + text(px(tick), y0 + 18, LineChart.label(tick), anchor: "middle")
        }
        let yTicks =
            logarithmic ? stride(from: yRange.0, through: yRange.1, by: 1).map { pow(10, $0) } : LineChart.ticks(yRange.0, yRange.1)
        for tick in yTicks {
            svg +=
                line(x0 - 5, py(tick), x0, py(tick))
                + "<line x1=\"\(f(x0))\" y1=\"\(f(py(tick)))\" x2=\"\(f(x1))\" y2=\"\(f(py(tick)))\" stroke=\"#e0e0e0\"/>\n"
            svg += text(x0 - 8, py(tick) + 4, LineChart.label(tick), anchor: "end")
        }
        for (index, series) in self.series.enumerated() {
            let drawable = { (point: (x: Double, y: Double)) in point.y.isFinite && (!logarithmic || point.y > 0) }
            let points = series.points.filter(drawable)
            let dash = series.dashed ? " stroke-dasharray=\"5 4\"" : ""
            // A value that cannot be drawn (NaN, inf, missing) breaks the line: no segment bridges it.
            for segment in series.points.split(whereSeparator: { !drawable($0) }) {
                svg +=
                    "<polyline points=\"" + segment.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                    + "\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)/>\n"
            }
            if series.marked {
                for (k, point) in points.enumerated() {
                    svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" fill=\"\(series.color)\"/>\n"
                    if let labels = series.labels, k < labels.count {
                        svg += text(px(point.x), py(point.y) - 8, labels[k], anchor: "middle")
                    }
                }
            }
            // The legend: a row between the title and the plot, a line of each series' style and its name.
            let (lx, ly) = (x0 + 170 * Double(index), 36.0)
            svg +=
                "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 24))\" y2=\"\(f(ly))\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)/>\n"
            let undrawn = series.points.count - points.count
            let what = logarithmic ? "not positive, NaN, inf or missing" : "NaN, inf or missing"
            svg += text(lx + 30, ly + 4, series.name + (undrawn > 0 ? " (\(undrawn) \(what), not drawn)" : ""), anchor: "start")
        }
        return svg
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"black\"/>\n"
    }

    private func text(_ x: Double, _ y: Double, _ content: String, anchor: String) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\">\(LineChart.escaped(content))</text>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A range with room around a single value.
    private static func padded(_ low: Double, _ high: Double) -> (Double, Double) {
        guard high > low else { return (low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)) }
        let margin = (high - low) * 0.04
        return (low - margin, high + margin)
    }

    /// Round values (1, 2 or 5 times a power of ten apart) from `low` to `high`, about six.
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return [] }
        let rough = (high - low) / 6
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let first = (low / step).rounded(.up) * step
        return stride(from: first, through: high + step * 1e-9, by: step).map { ($0 / step).rounded() * step }
    }

    /// A tick's text: an integer as such, else up to four significant digits.
    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
