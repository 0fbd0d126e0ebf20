import ArgumentParser
import Foundation
import Loom

/// `--metrics` as given to `loom train` and `loom evaluate`: the metrics in order, each with the
/// name the history logs it under (as typed, as Keras logs a metric under the name it was given).
/// A metric named twice, under any of its names, is refused.
struct MetricList {
    let metrics: [Metric]
    let names: [String]

    /// Parses a comma-separated list (`mae,rmse` or `mae, rmse`).
    init(parsing text: String) throws {
        names = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        metrics = try names.map { try Metric(kerasName: $0) }
        for (index, metric) in metrics.enumerated() where metrics[..<index].contains(metric) {
            throw ValidationError("--metrics names \(metric.rawValue) twice; name each metric once")
        }
    }
}
