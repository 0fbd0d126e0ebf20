import Dispatch
import Synchronization

/// The buckets of an exchange overlapped with the backward pass, and which of them each step
/// has made ready: a bucket leaves for the other processes once every local shard's gradients
/// over it are final and summed over the shards, while the backward passes go on below it.
///
/// Buckets are ranges of the parameter buffers, from the top down (the backward pass finishes
/// the last layers first), cut where the pass says its gradients are final (`Replica`'s
/// `gradientsFinished`: layer boundaries, and the recurrent kernels of the recurrent layers
/// of the model itself, not inside a `Bidirectional`), each at least `minimumFloats`
/// where the parameters allow, except the last two: the last, the lowest piece between two
/// cuts (the first layer's kernel, or the first layer), starts at 0 and carries the step's
/// header, and the one above it takes what is left.
///
/// Thread safety: `shard(_:finishedFrom:gradients:checking:)` is called by the worker running
/// each shard; the counts are kept under a lock, and the bucket a call completes is summed over
/// the shards by that worker, outside it. Worker 0 alone reads `isReduced` and `readyTimes`
/// while the step runs.
final class GradientBuckets: @unchecked Sendable {
    /// The buckets' ranges, from the top of the buffers down.
    let ranges: [Range<Int>]
    private let shardCount: Int

    private struct Counts {
        /// Per shard: the index from which its gradients are final, and how many buckets
        /// (from the top) that covers.
        var finishedFrom: [Int]
        var bucketsFinished: [Int]
        /// Per bucket: the shards whose gradients over it are final, and whether it is summed
        /// over them (and when, for the profile).
        var shardsFinished: [Int]
        var reduced: [Bool]
        var readyTimes: [DispatchTime]
        /// Per shard: the lowest index holding NaN or Inf found so far, if any.
        var firstNonFinite: [Int?]
    }

    private let counts: Mutex<Counts>
    /// The sum of a bucket over the local shards, for the step being run (`begin`).
    private var reduce: (Range<Int>) -> Void = { _ in }

    /// Buckets of at least `minimumFloats` (at least 1) over `layout`, the layout of
    /// `layers`, cut at layer boundaries and recurrent layers' recurrent kernels, for
    /// `shardCount` local shards.
    init(layers: [any Layer], layout: ParameterLayout, minimumFloats: Int, shardCount: Int) {
        var cuts = Set(layout.layerOffsets)
        for variable in layout.variables where variable.name == "recurrent_kernel" && layers[variable.layer] is any RecurrentLayer {
            cuts.insert(variable.range.lowerBound)
        }
        var ranges: [Range<Int>] = []
        var top = layout.count
        let descending = cuts.filter { $0 < layout.count }.sorted(by: >)
        // The lowest piece, the last the pass finishes, goes alone: what is left to send after
        // the pass is as small as the cuts allow.
        let lowest = descending.dropLast().last ?? 0
        for cut in descending where top - cut >= max(minimumFloats, 1) || cut == lowest || cut == 0 {
            ranges.append(cut..<top)
            top = cut
        }
        if ranges.isEmpty { ranges = [0..<layout.count] }
        self.ranges = ranges
        self.shardCount = shardCount
        counts = Mutex(
            Counts(
                finishedFrom: [], bucketsFinished: [], shardsFinished: [], reduced: [], readyTimes: [], firstNonFinite: []))
    }

    /// Starts a step: nothing final yet; `reduce` sums a bucket over the shards.
    func begin(parameterCount: Int, reduce: @escaping (Range<Int>) -> Void) {
        self.reduce = reduce
        begun = 0
        beginTimes.removeAll(keepingCapacity: true)
        let now = DispatchTime.now(), (shards, buckets) = (shardCount, ranges.count)
        counts.withLock {
            $0 = Counts(
                finishedFrom: Array(repeating: parameterCount, count: shards), bucketsFinished: Array(repeating: 0, count: shards),
                shardsFinished: Array(repeating: 0, count: buckets), reduced: Array(repeating: false, count: buckets),
                readyTimes: Array(repeating: now, count: buckets), firstNonFinite: Array(repeating: nil, count: shards))
        }
    }

    /// Shard `shard`'s gradients (`gradients`) from `offset` on are final: they are checked
    /// for NaN and Inf (when `checking`), and each bucket this completes for every shard is
    /// summed over the shards here.
    func shard(_ shard: Int, finishedFrom offset: Int, gradients: UnsafePointer<Float>, checking: Bool) {
        let previous = counts.withLock { $0.finishedFrom[shard] }
        guard offset < previous else { return }
        let bad = checking ? NonFiniteStep.firstNonFinite(gradients + offset, count: previous - offset) : nil
        let completed: [Int] = counts.withLock { counts in
            if let bad { counts.firstNonFinite[shard] = offset + bad }
            counts.finishedFrom[shard] = offset
            var completed: [Int] = []
            while counts.bucketsFinished[shard] < ranges.count && ranges[counts.bucketsFinished[shard]].lowerBound >= offset {
                let bucket = counts.bucketsFinished[shard]
                counts.shardsFinished[bucket] += 1
                if counts.shardsFinished[bucket] == shardCount { completed.append(bucket) }
                counts.bucketsFinished[shard] += 1
            }
            return completed
        }
        for bucket in completed {
            reduce(ranges[bucket])
            let now = DispatchTime.now()
            counts.withLock {
                $0.reduced[bucket] = true
                $0.readyTimes[bucket] = now
            }
        }
    }

    /// Worker 0's record of the step's sums: the buckets it has begun (from the top), and
    /// when each began.
    var begun = 0
    var beginTimes: [DispatchTime] = []

    /// Whether bucket `bucket` is summed over the local shards.
    func isReduced(_ bucket: Int) -> Bool { counts.withLock { $0.reduced[bucket] } }

    /// When each bucket was summed over the local shards, this step.
    var readyTimes: [DispatchTime] { counts.withLock { $0.readyTimes } }

    /// The lowest index of shard `shard`'s gradients found NaN or Inf this step.
    func firstNonFinite(shard: Int) -> Int? { counts.withLock { $0.firstNonFinite[shard] } }
}
