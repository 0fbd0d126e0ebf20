/// Sample-weighted running means of the loss and metrics over an epoch, as Keras reports them
/// (the metrics as their statistics' means, `Objective.statisticRanges`, turned into values
/// when logged: RMSE's root and R²'s ratio are the epoch's, as Keras's metric states give).
///
/// The loss is the mean of the batches' losses weighted by their rows (Keras's loss tracker).
/// The metrics are too, unless the batches are weighted (a mask at the output, or sample
/// weights): then each batch's metrics weigh its valid loss rows, so the epoch's metric is the
/// mean over all its valid rows, as Keras's metric states accumulate.
struct RunningTotals {
    let objective: Objective
    private var loss = 0.0
    private var metricSums: [Double]
    private var samples = 0
    /// The batches' valid loss rows, for weighted batches; nil otherwise.
    private var validRows: Double?

    init(objective: Objective) {
        self.objective = objective
        metricSums = Array(repeating: 0, count: objective.statisticCount)
    }

    /// Totals continuing from `values` (as `values` gave them); nil when they do not fit
    /// `objective`'s statistics.
    init?(objective: Objective, values: [Double]) {
        let fixed = objective.statisticCount + 2
        guard values.count == fixed || values.count == fixed + 1, let samples = Int(exactly: values[fixed - 1]) else {
            return nil
        }
        self.objective = objective
        loss = values[0]
        metricSums = Array(values[1..<(fixed - 1)])
        self.samples = samples
        validRows = values.count > fixed ? values[fixed] : nil
    }

    /// The loss sum, the metric statistics' sums and the sample count (then the valid rows, when
    /// weighted), for a checkpoint.
    var values: [Double] { [loss] + metricSums + [Double(samples)] + (validRows.map { [$0] } ?? []) }

    /// Adds a batch of `count` rows and its metric statistics; `valid`, for a weighted batch,
    /// is its valid loss rows (`StepTotals.validRows`).
    mutating func add(loss batchLoss: Double, metrics values: [Double], samples count: Int, validRows valid: Double? = nil) {
        loss += batchLoss * Double(count)
        let metricScale = valid ?? Double(count)
        for i in values.indices { metricSums[i] += values[i] * metricScale }
        samples += count
        if let valid { validRows = (validRows ?? 0) + valid }
    }

    func logs(prefix: String) -> [(String, Double)] {
        let n = Double(max(samples, 1))
        let metricDivisor = validRows ?? n
        let means = metricSums.map { metricDivisor > 0 ? $0 / metricDivisor : 0 }
        return [(prefix + "loss", loss / n)] + zip(objective.metricNames, objective.metricValues(means)).map { (prefix + $0, $1) }
    }
}
