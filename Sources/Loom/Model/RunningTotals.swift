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
