/// The doubles each node of a step's sums carries beside the floats (`ShardSum`'s header):
/// flags combined by maximum, then the rows-weighted loss and each metric, added.
enum StepHeader {
    /// 1 + the rank whose rows could not be read (0: none).
    static let failedRank = 0
    /// 1 + the rank whose loss or gradient is not finite (0: none).
    static let nonFiniteRank = 1
    /// 1 when any process was asked to stop (`TrainingStop`).
    static let stop = 2
    /// The row-weighted loss, then each metric.
    static let loss = 3
    /// The leading values combined by maximum.
    static let flags = 3

    /// The doubles of a header with `metrics` metrics.
    static func width(metrics: Int) -> Int { loss + 1 + metrics }
}
