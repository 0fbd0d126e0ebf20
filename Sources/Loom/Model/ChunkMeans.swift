/// The means of a batch's chunks' losses and metrics, each chunk weighing `weight`.
struct ChunkMeans {
    private var loss = 0.0
    private var metrics: [Double]
    private var weight = 0.0
    private var weighted = false

    init(metrics count: Int) {
        metrics = Array(repeating: 0, count: count)
    }

    /// Adds a chunk's means, of `chunkWeight` loss rows: its valid ones when `isWeighted`.
    mutating func add(loss chunkLoss: Double, metrics values: [Double], weight chunkWeight: Double, isWeighted: Bool) {
        loss += chunkLoss * chunkWeight
        for i in values.indices { metrics[i] += values[i] * chunkWeight }
        weight += chunkWeight
        weighted = weighted || isWeighted
    }

    /// The valid loss rows of the chunks, when they were weighted (masked or with sample
    /// weights; `RunningTotals.add`'s `validRows`); nil otherwise.
    var validRows: Double? { weighted ? weight : nil }

    /// The weighted means (0 when no chunk weighed anything).
    var results: (Double, [Double]) {
        guard weight > 0 else { return (0, metrics.map { _ in 0 }) }
        return (loss / weight, metrics.map { $0 / weight })
    }
}
