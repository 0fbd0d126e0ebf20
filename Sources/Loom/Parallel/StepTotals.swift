/// The doubles a shard adds to a step's sums of its loss, and the sums: the divisor, the loss
/// and each metric's statistics (`Objective.statisticRanges`), added over the shards in the
/// order of the `ShardTree`.
///
/// Unweighted, a shard writes its share of the batch's rows as the divisor and its loss and
/// metrics times that share, so the sums are the batch's means. Weighted (a mask at the
/// output, or sample weights), it writes its count of valid loss rows, and its loss and
/// metrics (means over those rows) times that count: the sums are divided once, at the end
/// (`results`), whatever the split.
enum StepTotals {
    /// The valid loss rows (weighted), or the share of the batch's rows.
    static let validRows = 0
    /// The loss, then the metrics' statistics.
    static let loss = 1

    /// The doubles of the totals with `metrics` metric statistics.
    static func width(metrics: Int) -> Int { loss + 1 + metrics }

    /// The loss and metrics of the summed `totals`: divided by the valid rows when `weighted`
    /// (0 when there are none, as Keras's `divide_no_nan`), else as summed. `metrics` is
    /// refilled in place.
    static func results(_ totals: UnsafePointer<Double>, weighted: Bool, metrics: inout [Double]) -> Double {
        let divisor = totals[validRows]
        func divided(_ value: Double) -> Double { weighted ? (divisor > 0 ? value / divisor : 0) : value }
        for i in metrics.indices { metrics[i] = divided(totals[loss + 1 + i]) }
        return divided(totals[loss])
    }
}
