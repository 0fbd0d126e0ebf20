/// The row order in which a recurrent pass over a padded batch skips the padding, as packed
/// sequences do (cuDNN's, PyTorch's `pack_padded_sequence`).
///
/// When every row's valid steps are one run, and the runs all start at the first step or all
/// end at the last (in processing order: right padding, or left padding, read either way),
/// the rows are sorted, stably, so that the rows running at step `t` are the first
/// `active[t]`: by length, longest first, for runs from the first step; by first step,
/// earliest first, for runs to the last. Each step then computes only those rows; the others
/// carry their state. Rows never leave their shard (each replica sorts its own), the layer's
/// inputs, outputs and state stay in the batch's order (the transposes gather and scatter
/// through `rows`), and dropout masks are drawn in the batch's order, then reordered, so the
/// same seed gives the same masks. A mask with gaps, or with both kinds of runs, is not
/// sorted: its masked rows are carried step by step instead.
final class PaddingOrder {
    /// Whether passes sort padded batches (tests compare with the unsorted computation).
    nonisolated(unsafe) static var isEnabled = true

    /// `rows[i]`: the batch row of sorted row `i`.
    private(set) var rows: [Int] = []
    /// `active[t]`: the rows running at processing step `t`, the first ones of the order.
    private(set) var active: [Int] = []
    /// Each sorted row's valid steps, `start ..< end` in processing order (empty: all padding).
    private(set) var starts: [Int] = []
    private(set) var ends: [Int] = []
    /// The sum of `active`: the rows of all steps that compute.
    private(set) var activeTotal = 0
    /// Each batch row's valid steps, before sorting.
    private var rowStarts: [Int] = []
    private var rowEnds: [Int] = []

    /// Plans the order for the mask `(batch, steps)` (the batch's time order) of a pass that
    /// reads the sequences `reversed` or not; returns false, planning nothing, when the mask
    /// cannot be sorted so or pads nothing.
    func plan(mask: UnsafePointer<Float>, batch B: Int, steps T: Int, reversed: Bool) -> Bool {
        rowStarts.removeAll(keepingCapacity: true)
        rowEnds.removeAll(keepingCapacity: true)
        var fromFirst = true, toLast = true, padded = false
        for b in 0..<B {
            var first = T, last = -1, count = 0
            for t in 0..<T where mask[b * T + t] != 0 {
                let step = reversed ? T - 1 - t : t
                first = min(first, step)
                last = max(last, step)
                count += 1
            }
            if count == 0 {
                (first, last) = (0, -1)
            } else if count != last - first + 1 {
                return false
            }
            padded = padded || count < T
            if count > 0 {
                fromFirst = fromFirst && first == 0
                toLast = toLast && last == T - 1
            }
            rowStarts.append(first)
            rowEnds.append(last + 1)
        }
        guard padded, fromFirst || toLast else { return false }
        rows.removeAll(keepingCapacity: true)
        rows.append(contentsOf: 0..<B)
        if fromFirst {
            for b in 0..<B where rowEnds[b] == 0 { rowStarts[b] = 0 }
            rows.sort { rowEnds[$0] != rowEnds[$1] ? rowEnds[$0] > rowEnds[$1] : $0 < $1 }
        } else {
            for b in 0..<B where rowEnds[b] == 0 { (rowStarts[b], rowEnds[b]) = (T, T) }
            rows.sort { rowStarts[$0] != rowStarts[$1] ? rowStarts[$0] < rowStarts[$1] : $0 < $1 }
        }
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        for b in rows {
            starts.append(rowStarts[b])
            ends.append(rowEnds[b])
        }
        active.removeAll(keepingCapacity: true)
        activeTotal = 0
        for t in 0..<T {
            var count = 0
            while count < B && (fromFirst ? ends[count] > t : starts[count] <= t && ends[count] > t) { count += 1 }
            active.append(count)
            activeTotal += count
        }
        return true
    }
}
