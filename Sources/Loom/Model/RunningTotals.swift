/// Sample-weighted running means of the loss and metrics over an epoch, as Keras reports them.
struct RunningTotals {
    let metrics: [Metric]
    private var loss = 0.0
    private var metricSums: [Double]
    private var samples = 0

    init(metrics: [Metric]) {
        self.metrics = metrics
        metricSums = Array(repeating: 0, count: metrics.count)
    }

    /// Totals continuing from `values` (as `values` gave them); nil when they do not fit
    /// `metrics`.
    init?(metrics: [Metric], values: [Double]) {
        guard values.count == metrics.count + 2, let samples = Int(exactly: values[values.count - 1]) else { return nil }
        self.metrics = metrics
        loss = values[0]
        metricSums = Array(values[1..<(values.count - 1)])
        self.samples = samples
    }

    /// The loss sum, the metric sums and the sample count, for a checkpoint.
    var values: [Double] { [loss] + metricSums + [Double(samples)] }

    mutating func add(loss batchLoss: Double, metrics values: [Double], samples count: Int) {
        loss += batchLoss * Double(count)
        for i in values.indices { metricSums[i] += values[i] * Double(count) }
        samples += count
    }

    func logs(prefix: String) -> [(String, Double)] {
        let n = Double(max(samples, 1))
        return [(prefix + "loss", loss / n)] + zip(metrics, metricSums).map { (prefix + $0.rawValue, $1 / n) }
    }
}
