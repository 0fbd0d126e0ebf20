import Foundation
import Loom

/// The curves of a training history as SVG (`loom plot`, `loom train --plot`): one panel for
/// the loss and one for each metric, training solid and validation dashed, against epochs;
/// one more for the learning rate when it changed.
enum HistoryPlot {
    /// The SVG of `columns` (each logged key's values, an epoch each) over `epochs`.
    static func svg(epochs: [Double], columns: [String: [Double]], title: String) -> String {
        let trained = columns.keys.filter { !$0.hasPrefix("val_") && $0 != "learning_rate" && $0 != "epoch" }
            .sorted { ($0 == "loss" ? 0 : 1, $0) < ($1 == "loss" ? 0 : 1, $1) }
        var charts: [LineChart] = trained.map { key in
            var series = [LineChart.Series(name: "training", points: points(epochs, columns[key]!), color: LineChart.palette[0])]
            if let validation = columns["val_" + key] {
                series.append(
                    LineChart.Series(name: "validation", points: points(epochs, validation), color: LineChart.palette[1], dashed: true))
            }
            let values = series.flatMap { $0.points.map(\.y) }
            return LineChart(
                title: "\(title): \(key)", xTitle: "epoch", yTitle: key, series: series, xTicks: ticks(epochs),
                logarithmic: LineChart.wantsLogarithmic(values))
        }
        if let rates = columns["learning_rate"], Set(rates).count > 1 {
            charts.append(
                LineChart(
                    title: "\(title): learning rate", xTitle: "epoch", yTitle: "learning rate",
                    series: [LineChart.Series(name: "learning rate", points: points(epochs, rates), color: LineChart.palette[2])],
                    xTicks: ticks(epochs), logarithmic: LineChart.wantsLogarithmic(rates)))
        }
        return LineChart.document(charts)
    }

    /// The SVG of a `History`, epochs counted from 1.
    static func svg(_ history: History, title: String) -> String {
        svg(epochs: history.epoch.map { Double($0 + 1) }, columns: history.history, title: title)
    }

    private static func points(_ epochs: [Double], _ values: [Double]) -> [(x: Double, y: Double)] {
        zip(epochs, values).map { (x: $0, y: $1) }
    }

    /// Every epoch when there are few, else round values.
    private static func ticks(_ epochs: [Double]) -> [Double]? {
        epochs.count <= 12 ? epochs : nil
    }
}
