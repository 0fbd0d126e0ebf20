/// The means of a batch's chunks' losses and metrics, each chunk weighing `weight`.
struct ChunkMeans {
    private var loss = 0.0
    private var metrics: [Double]
    private var weight = 0.0

    init(metrics count: Int) {
        metrics = Array(repeating: 0, count: count)
    }

    mutating func add(loss chunkLoss: Double, metrics values: [Double], weight chunkWeight: Double) {
        loss += chunkLoss * chunkWeight
        for i in values.indices { metrics[i] += values[i] * chunkWeight }
        weight += chunkWeight
    }

    /// The weighted means (0 when no chunk weighed anything).
    var results: (Double, [Double]) {
        guard weight > 0 else { return (0, metrics.map { _ in 0 }) }
        return (loss / weight, metrics.map { $0 / weight })
    }
}
