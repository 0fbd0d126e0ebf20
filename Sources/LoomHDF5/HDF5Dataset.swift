import Dispatch
import Foundation
import Loom

/// Training samples streamed from an HDF5 file, a batch at a time, never loading the file.
///
/// `X` is `(samples, timesteps, features)` (any rank 2–5, e.g. `(samples, timesteps, h, w, c)`
/// image sequences), `y` is `(samples, outputs)` or `(samples, timesteps, outputs)` (rank
/// 1–3). Each batch is read with hyperslab selections: one read per run of consecutive rows,
/// so a batch in file order (shuffle off) is a single contiguous read. While a batch trains,
/// the next one is read on a background queue (`prefetch`), so at most two batches are in
/// memory. Values are checked as they are read: NaN or Inf throws, naming the sample.
///
/// Thread safety (`@unchecked Sendable`): only the training thread calls `read` and
/// `prefetch`. The background read touches the file (under the HDF5 lock) and the prefetch
/// buffers, which the training thread reads only after waiting on that read's group.
public final class HDF5Dataset: Dataset, @unchecked Sendable {
    public let file: HDF5File
    /// The dataset names of the inputs and targets.
    public let inputName: String
    public let targetName: String?
    public let sampleCount: Int
    public let inputShape: [Int]
    public let targetShape: [Int]?

    private let inputStride: Int
    private let targetStride: Int
    private let queue = DispatchQueue(label: "loom.hdf5.prefetch")
    private var prefetched: Prefetch?
    /// Where the batch read ahead lands; reused from batch to batch.
    private let prefetchInputs = FloatBuffer()
    private let prefetchTargets = FloatBuffer()

    /// One batch read ahead: its rows, and the error the read ended with, if any (written
    /// before `done` is left, read after it is waited on).
    private final class Prefetch: @unchecked Sendable {
        let rows: [Int]
        let withTargets: Bool
        let done = DispatchGroup()
        var error: Error?

        init(rows: [Int], withTargets: Bool) {
            self.rows = rows
            self.withTargets = withTargets
        }
    }

    /// Opens `path` and checks the datasets' ranks, types and sample counts.
    public convenience init(path: String, x: String = "X", y: String? = "y") throws {
        try self.init(file: HDF5File(path: path), x: x, y: y)
    }

    public init(file: HDF5File, x: String = "X", y: String? = "y") throws {
        self.file = file
        inputName = x
        targetName = y
        let input = try file.readableInfo(x)
        guard (2...5).contains(input.shape.count) else {
            throw HDF5Error(file: file.path, dataset: x,
                            "has shape \(Shape.describe(input.shape)); expected rank 2 to 5, (samples, timesteps, features) for sequences")
        }
        sampleCount = input.shape[0]
        inputShape = Array(input.shape.dropFirst())
        if let y {
            let target = try file.readableInfo(y)
            guard (1...3).contains(target.shape.count) else {
                throw HDF5Error(file: file.path, dataset: y,
                                "has shape \(Shape.describe(target.shape)); expected (samples, outputs) or (samples, timesteps, outputs)")
            }
            guard target.shape[0] == sampleCount else {
                throw HDF5Error(file: file.path, dataset: y,
                                "has \(target.shape[0]) samples but '\(x)' has \(sampleCount); they must match")
            }
            targetShape = Array(target.shape.dropFirst())
        } else {
            targetShape = nil
        }
        inputStride = Shape.count(inputShape)
        targetStride = targetShape.map(Shape.count) ?? 0
    }

    public func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
        if let pending = takePrefetch(matching: rows, targets: targets != nil) {
            pending.done.wait()
            if let error = pending.error { throw error }
            inputs.update(from: prefetchInputs.pointer, count: rows.count * inputStride)
            targets?.update(from: prefetchTargets.pointer, count: rows.count * targetStride)
            return
        }
        try readNow(rows: rows, inputs: inputs, targets: targets)
    }

    public func prefetch(rows: ArraySlice<Int>, targets: Bool) {
        prefetched?.done.wait()
        let withTargets = targets && targetName != nil
        let pending = Prefetch(rows: Array(rows), withTargets: withTargets)
        prefetchInputs.reserve(rows.count * inputStride)
        if withTargets { prefetchTargets.reserve(rows.count * targetStride) }
        prefetched = pending
        pending.done.enter()
        queue.async { [self] in
            do {
                try readNow(rows: pending.rows[...], inputs: prefetchInputs.pointer,
                            targets: withTargets ? prefetchTargets.pointer : nil)
            } catch {
                pending.error = error
            }
            pending.done.leave()
        }
    }

    private func takePrefetch(matching rows: ArraySlice<Int>, targets: Bool) -> Prefetch? {
        guard let pending = prefetched else { return nil }
        prefetched = nil
        guard pending.rows.elementsEqual(rows), pending.withTargets == (targets && targetName != nil) else {
            pending.done.wait()
            return nil
        }
        return pending
    }

    /// Reads `rows`, one hyperslab per run of consecutive rows, and checks every value.
    private func readNow(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
        var position = 0
        let list = Array(rows)
        while position < list.count {
            var end = position + 1
            while end < list.count && list[end] == list[end - 1] + 1 { end += 1 }
            let range = list[position]..<(list[end - 1] + 1)
            guard range.lowerBound >= 0, range.upperBound <= sampleCount else {
                throw HDF5Error(file: file.path, dataset: inputName, "row \(range.lowerBound) outside its \(sampleCount) samples")
            }
            try file.read(inputName, rows: range, into: inputs + position * inputStride)
            if let targets, let targetName { try file.read(targetName, rows: range, into: targets + position * targetStride) }
            position = end
        }
        try checkFinite(inputs, stride: inputStride, rows: list, dataset: inputName)
        if let targets, let targetName { try checkFinite(targets, stride: targetStride, rows: list, dataset: targetName) }
    }

    private func checkFinite(_ values: UnsafePointer<Float>, stride: Int, rows: [Int], dataset: String) throws {
        for i in 0..<(rows.count * stride) where !values[i].isFinite {
            throw HDF5Error(file: file.path, dataset: dataset, "holds NaN or Inf at sample \(rows[i / stride])")
        }
    }
}
