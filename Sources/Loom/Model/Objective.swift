/// What `compile` fixed besides the optimizer: the loss a step minimises and the metrics it
/// reports, and where each metric's statistics lie among a step's (`Metric.statistics`).
struct Objective {
    let loss: Loss
    let metrics: [Metric]
    /// The key each metric is logged under, in metric order (Keras's metric `name`).
    let metricNames: [String]
    /// The output's last axis, whose columns R²'s statistics are per (1 until the model is
    /// built).
    let outputWidth: Int
    /// Each metric's statistics' range among a step's, in metric order.
    let statisticRanges: [Range<Int>]
    /// The statistics a step carries for all the metrics.
    var statisticCount: Int { statisticRanges.last?.upperBound ?? 0 }

    init(loss: Loss, metrics: [Metric], metricNames: [String]? = nil, outputWidth: Int = 1) {
        self.loss = loss
        self.metrics = metrics
        self.metricNames = metricNames ?? metrics.map(\.rawValue)
        self.outputWidth = outputWidth
        var ranges: [Range<Int>] = []
        for metric in metrics {
            let start = ranges.last?.upperBound ?? 0
            ranges.append(start..<(start + metric.statisticCount(width: outputWidth)))
        }
        statisticRanges = ranges
    }

    /// The same objective for an output of `width` columns.
    func sized(outputWidth width: Int) -> Objective {
        Objective(loss: loss, metrics: metrics, metricNames: metricNames, outputWidth: width)
    }

    /// The metrics' values from their statistics' means over the rows seen.
    func metricValues(_ statistics: [Double]) -> [Double] {
        precondition(statistics.count == statisticCount, "statistics of another objective")
        return zip(metrics, statisticRanges).map { $0.value(statistics[$1]) }
    }
}
