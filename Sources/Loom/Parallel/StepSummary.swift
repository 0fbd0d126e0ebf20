/// The doubles each node of a step's sums carries beside the floats (`ShardSum`'s header):
/// flags and the slowest arrival, combined by maximum, then sums: the divisor, the loss and
/// each metric's statistics (`Objective.statisticRanges`).
///
/// Unweighted, a shard writes its share of the batch's rows as the divisor and its loss and
/// metrics times that share, so the sums are the batch's means. Weighted (a mask at the
/// output, or sample weights), it writes its count of valid loss rows, and its loss and
/// metrics (means over those rows) times that count: the sums are divided once, at the end
/// (`results`), whatever the split.
enum StepSummary {
    /// 1 + the rank whose rows could not be read (0: none).
    static let failedRank = 0
    /// 1 + the rank whose loss or gradient is not finite (0: none).
    static let nonFiniteRank = 1
    /// 1 when any process was asked to stop (`TrainingStop`).
    static let stop = 2
    /// With other processes: the seconds from the step's start until a rank reached the
    /// exchange; the total is the slowest rank's (`TrainingEngine.markArrival`).
    static let arrival = 3
    /// The valid loss rows (weighted), or the share of the batch's rows.
    static let validRows = 4
    /// The loss, then the metrics' statistics.
    static let loss = 5
    /// The leading values combined by maximum.
    static let flags = 4

    /// The doubles of a header with `metrics` metric statistics.
    static func width(metrics: Int) -> Int { loss + 1 + metrics }

    /// The loss and metrics of the summed header `totals`: divided by the valid rows when
    /// `weighted` (0 when there are none, as Keras's `divide_no_nan`), else as summed.
    /// `metrics` is refilled in place.
    static func results(_ totals: UnsafePointer<Double>, weighted: Bool, metrics: inout [Double]) -> Double {
        let divisor = totals[validRows]
        func divided(_ value: Double) -> Double { weighted ? (divisor > 0 ? value / divisor : 0) : value }
        for i in metrics.indices { metrics[i] = divided(totals[loss + 1 + i]) }
        return divided(totals[loss])
    }
}
