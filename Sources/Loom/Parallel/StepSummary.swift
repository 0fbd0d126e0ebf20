/// The header a step's sums carry to other processes beside the floats (`ShardSum`'s
/// header): this process's flags and its arrival, combined by maximum across the ranks, then
/// the step's `StepTotals`, added. A step in one process sums the totals alone.
enum StepSummary {
    /// 1 + the rank whose rows could not be read (0: none).
    static let failedRank = 0
    /// 1 + the rank whose loss or gradient is not finite (0: none).
    static let nonFiniteRank = 1
    /// 1 when any process was asked to stop (`TrainingStop`).
    static let stop = 2
    /// The seconds from the step's start until a rank reached the exchange; the total is the
    /// slowest rank's (`TrainingEngine.markArrival`).
    static let arrival = 3
    /// The leading values combined by maximum.
    static let flags = 4
    /// Where the `StepTotals` begin.
    static let totals = flags
    /// The summed valid loss rows (`StepTotals.validRows`).
    static let validRows = totals + StepTotals.validRows

    /// The doubles of a header with `metrics` metric statistics.
    static func width(metrics: Int) -> Int { totals + StepTotals.width(metrics: metrics) }

    /// Writes this process's flags into each of `headers`: `failedRank` and `nonFiniteRank`
    /// are 1 + its rank when set, `stop` 1 when asked to stop.
    static func setFlags(
        in headers: some Sequence<UnsafeMutablePointer<Double>>, rank: Int, failed: Bool, nonFinite: Bool, stop: Bool
    ) {
        for header in headers {
            header[failedRank] = failed ? Double(rank + 1) : 0
            header[nonFiniteRank] = nonFinite ? Double(rank + 1) : 0
            header[Self.stop] = stop ? 1 : 0
        }
    }
}
