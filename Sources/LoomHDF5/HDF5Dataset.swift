import Dispatch
import Foundation
import Logging
@_spi(Kernels) import Loom

/// Training samples streamed from an HDF5 file, never loading the whole file.
///
/// `X` is `(samples, timesteps, features)` (any rank 2–5, e.g. `(samples, timesteps, h, w, c)`
/// image sequences), `y` is `(samples, outputs)` or `(samples, timesteps, outputs)` (rank
/// 1–3). A dataset never written (declared only) is refused when opened; values are checked
/// as they are read: NaN or Inf throws, naming the sample.
///
/// Two read paths, both running one step ahead on a background queue while a batch trains:
/// - Batches in file order (shuffle off) come from blocks of consecutive rows (`blockBytes`,
///   at least one batch) read with one hyperslab each; the block after the current one is read
///   ahead, so at most two blocks are in memory.
/// - Shuffled batches are read one batch ahead, each with a single read per dataset through a
///   union of the batch's row hyperslabs, or for a contiguous float32 dataset with one `pread`
///   per run of consecutive rows (`HDF5File.read(_:sortedRows:into:)`); under a block shuffle
///   (`readInBlocks`), copied from whole blocks of rows read as consecutive rows
///   (`HDF5BlockCache`).
///
/// Thread safety (`@unchecked Sendable`): only the training thread calls `read` and
/// `prefetch`. The background reads touch the file (through HDF5 under its lock, or with
/// `pread`) and buffers the training thread reads only after waiting on that read's group.
public final class HDF5Dataset: Dataset, @unchecked Sendable {
    /// The open file the rows are read from.
    public let file: HDF5File
    /// The dataset names of the inputs and targets.
    public let inputName: String
    /// The targets' dataset name ("y" by default); nil when the file is read without targets.
    public let targetName: String?
    /// The input dataset's first dimension, which the targets' must match.
    public let sampleCount: Int
    /// The input dataset's shape without its samples axis.
    public let inputShape: [Int]
    /// The target dataset's shape without its samples axis; nil without targets.
    public let targetShape: [Int]?
    /// The size of a read-ahead block for batches in file order (default 4 MiB; a block holds
    /// whole batches, at least one).
    public var blockBytes = 4 << 20
    /// Each sample's valid steps, from the lengths dataset named when opened (read whole).
    public let sequenceLengths: SequenceLengths?
    /// The loss weights, `(samples)` or `(samples, timesteps)`, from the dataset named when
    /// opened (read whole, checked finite and not negative).
    public let sampleWeight: Tensor?

    private let inputStride: Int
    private let targetStride: Int
    private let queue = DispatchQueue(label: "loom.hdf5.prefetch")
    /// The block batches are served from, and the one being read after it.
    private var currentBlock: Read?
    private var nextBlock: Read?
    /// A shuffled batch read ahead.
    private var nextBatch: Read?
    /// Buffers reused by the reads: two for blocks (current and next), one for a batch, and
    /// the staging area of scattered reads.
    private let blockBuffers = [ReadBuffers(), ReadBuffers()]
    private let batchBuffers = ReadBuffers()
    private let staging = FloatBuffer()
    /// Under a block shuffle (`readInBlocks`), the blocks its batches' rows are copied from.
    private var blockCache: HDF5BlockCache?

    /// Where one background read lands.
    private final class ReadBuffers: @unchecked Sendable {
        let inputs = FloatBuffer()
        let targets = FloatBuffer()
    }

    /// Rows read (or being read) in the background into their own buffers; `error` is written
    /// before `done` is left and read after it is waited on.
    private final class Read: @unchecked Sendable {
        let rows: [Int]
        let withTargets: Bool
        let buffers: ReadBuffers
        let done = DispatchGroup()
        var error: Error?

        init(rows: [Int], withTargets: Bool, buffers: ReadBuffers, inputStride: Int, targetStride: Int) {
            self.rows = rows
            self.withTargets = withTargets
            self.buffers = buffers
            buffers.inputs.reserveDiscarding(rows.count * inputStride)
            if withTargets { buffers.targets.reserveDiscarding(rows.count * targetStride) }
        }

        var inputs: FloatBuffer { buffers.inputs }
        var targets: FloatBuffer { buffers.targets }

        /// Waits for the read, rethrowing its error.
        func wait() throws {
            done.wait()
            if let error { throw error }
        }
    }

    /// Opens `path` and checks the datasets' ranks, types and sample counts.
    /// `followsOtherFiles` allows datasets whose values lie in other files (external links,
    /// virtual datasets; see `HDF5File`). `lengths` names an integer dataset `(samples)` of
    /// each sample's valid steps (the inputs' mask), padded on the side `padding` says, else
    /// on the side its `padding` attribute says ("pre" or "post"), else before ("pre", as
    /// Keras's `pad_sequences`); `sampleWeights` names a dataset `(samples)` or
    /// `(samples, timesteps)` of loss weights.
    public convenience init(
        path: String, x: String = "X", y: String? = "y", followsOtherFiles: Bool = false, lengths: String? = nil,
        padding: SequenceLengths.Padding? = nil, sampleWeights: String? = nil
    ) throws {
        try self.init(
            file: HDF5File(path: path, followsOtherFiles: followsOtherFiles), x: x, y: y, lengths: lengths, padding: padding,
            sampleWeights: sampleWeights)
    }

    /// Reads from an open `file`, checking the datasets as `init(path:x:y:...)` does.
    public init(
        file: HDF5File, x: String = "X", y: String? = "y", lengths: String? = nil, padding: SequenceLengths.Padding? = nil,
        sampleWeights: String? = nil
    ) throws {
        self.file = file
        inputName = x
        targetName = y
        let input = try file.readableInfo(x, deferringStorage: true)
        guard (2...5).contains(input.shape.count) else {
            throw HDF5Error(
                file: file.path, dataset: x,
                "has shape \(Shape.describe(input.shape)); expected rank 2 to 5, (samples, timesteps, features) for sequences")
        }
        sampleCount = input.shape[0]
        inputShape = Array(input.shape.dropFirst())
        if let y {
            let target = try file.readableInfo(y, deferringStorage: true)
            guard (1...3).contains(target.shape.count) else {
                throw HDF5Error(
                    file: file.path, dataset: y,
                    "has shape \(Shape.describe(target.shape)); expected (samples, outputs) or (samples, timesteps, outputs)")
            }
            guard target.shape[0] == sampleCount else {
                throw HDF5Error(
                    file: file.path, dataset: y,
                    "has \(target.shape[0]) samples but '\(x)' has \(sampleCount); they must match")
            }
            targetShape = Array(target.shape.dropFirst())
        } else {
            targetShape = nil
        }
        for (name, shape) in [(x, inputShape), (y ?? "", targetShape ?? [])] {
            guard let count = Shape.checkedCount(shape), count <= Int(Int32.max) else {
                throw HDF5Error(
                    file: file.path, dataset: name,
                    "a sample of shape \(Shape.describe(shape)) holds more than 2^31 - 1 values; Loom reads at most that many")
            }
        }
        try file.checkStorage(x, shape: input.shape)
        if let y, let targetShape { try file.checkStorage(y, shape: [sampleCount] + targetShape) }
        inputStride = Shape.count(inputShape)
        targetStride = targetShape.map(Shape.count) ?? 0
        let shape = Array(input.shape.dropFirst())
        sequenceLengths = try lengths.map {
            try HDF5Dataset.lengths(file: file, name: $0, samples: input.shape[0], inputShape: shape, padding: padding)
        }
        sampleWeight = try sampleWeights.map { try HDF5Dataset.weights(file: file, name: $0, samples: input.shape[0]) }
        let parts = [
            "\(x) \(Shape.describe(input.shape))", y.map { "\($0) \(Shape.describe([sampleCount] + (targetShape ?? [])))" },
            lengths.map { "lengths \($0)" }, sampleWeights.map { "sample weights \($0)" },
        ]
        Logger.loomHDF5.debug("opened \(file.path): \(parts.compactMap { $0 }.joined(separator: ", "))")
    }

    /// The lengths dataset `name`: integers `(samples)`, each in 1...timesteps.
    private static func lengths(
        file: HDF5File, name: String, samples: Int, inputShape: [Int], padding: SequenceLengths.Padding?
    ) throws -> SequenceLengths {
        let info = try file.readableInfo(name)
        guard case .integer = info.elementType else {
            throw HDF5Error(file: file.path, dataset: name, "holds \(info.elementType) values; lengths must be integers")
        }
        guard info.shape == [samples] || info.shape == [samples, 1] else {
            throw HDF5Error(
                file: file.path, dataset: name, "has shape \(Shape.describe(info.shape)); expected (\(samples)), a length a sample")
        }
        guard inputShape.count >= 2 else {
            throw HDF5Error(
                file: file.path, dataset: name,
                "gives lengths to inputs of shape \(Shape.describe([samples] + inputShape)); lengths mask (samples, timesteps, "
                    + "features) inputs (token ids for an Embedding: pad them with 0 and give it mask_zero=True instead)")
        }
        var side = padding
        if side == nil, let attribute = try file.stringAttribute("padding", on: name) {
            guard let given = SequenceLengths.Padding(rawValue: attribute) else {
                throw HDF5Error(file: file.path, dataset: name, "has padding attribute '\(attribute)'; expected pre or post")
            }
            side = given
        }
        do {
            let values = try file.read(name).scalars.enumerated().map { sample, value in
                guard let length = Int(exactly: value) else {
                    throw HDF5Error(
                        file: file.path, dataset: name, "holds \(value) at sample \(sample); a length must be in 0...\(inputShape[0])")
                }
                return length
            }
            return try SequenceLengths(lengths: values, timesteps: inputShape[0], padding: side ?? .pre, name: "'\(name)' in \(file.path)")
        } catch let error as LoomError {
            throw HDF5Error(file: file.path, dataset: name, "\(error)")
        }
    }

    /// The sample weights dataset `name`: `(samples)` or `(samples, timesteps)` (or `(samples,
    /// timesteps, 1)`, as Keras takes it, read as the former), finite, not negative.
    private static func weights(file: HDF5File, name: String, samples: Int) throws -> Tensor {
        let info = try file.readableInfo(name)
        guard (1...2).contains(info.shape.count) || (info.shape.count == 3 && info.shape[2] == 1), info.shape[0] == samples else {
            throw HDF5Error(
                file: file.path, dataset: name,
                "has shape \(Shape.describe(info.shape)); expected (\(samples)) or (\(samples), timesteps), a weight a sample or step")
        }
        var weights = try file.read(name)
        if weights.shape.count == 3 { weights = try Tensor(shape: Array(weights.shape.prefix(2)), scalars: weights.scalars) }
        try weights.scalars.withUnsafeBufferPointer { values in
            do {
                try SampleWeights.check(values.baseAddress!, rows: ArraySlice(0..<samples), perSample: Shape.count(weights.sampleShape))
            } catch let error as LoomError {
                throw HDF5Error(file: file.path, dataset: name, "\(error)")
            }
        }
        return weights
    }

    /// The sample weights' shape without its samples axis; nil without them.
    public var sampleWeightShape: [Int]? { sampleWeight?.sampleShape }

    /// Copies `rows` of the sample weights into `weights`.
    public func readSampleWeights(rows: ArraySlice<Int>, into weights: UnsafeMutablePointer<Float>) throws {
        guard let sampleWeight else { throw HDF5Error(file: file.path, "no sample weights were named when the file was opened") }
        let stride = Shape.count(sampleWeight.sampleShape)
        sampleWeight.scalars.withUnsafeBufferPointer { values in
            for (k, row) in rows.enumerated() { (weights + k * stride).update(from: values.baseAddress! + row * stride, count: stride) }
        }
    }

    // MARK: Dataset

    /// Copies `rows` from the block or batch read ahead when it holds them, else reads them now; throws for a row
    /// out of range, a failed read, or a NaN or Inf value.
    public func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
        for row in rows where !(0..<sampleCount).contains(row) {
            throw HDF5Error(file: file.path, dataset: inputName, "row \(row) outside its \(sampleCount) samples")
        }
        let withTargets = targets != nil && targetName != nil
        if let range = HDF5Dataset.consecutive(rows) {
            let block = try block(containing: range, withTargets: withTargets)
            let offset = range.lowerBound - block.rows[0]
            inputs.update(from: block.inputs.pointer + offset * inputStride, count: range.count * inputStride)
            if withTargets, let targets {
                targets.update(from: block.targets.pointer + offset * targetStride, count: range.count * targetStride)
            }
            return
        }
        if let batch = nextBatch, batch.rows.elementsEqual(rows), batch.withTargets == withTargets {
            nextBatch = nil
            try batch.wait()
            inputs.update(from: batch.inputs.pointer, count: rows.count * inputStride)
            if withTargets, let targets { targets.update(from: batch.targets.pointer, count: rows.count * targetStride) }
            return
        }
        try? nextBatch?.wait()
        nextBatch = nil
        try readScattered(Array(rows), inputs: inputs, targets: withTargets ? targets : nil)
    }

    /// Starts reading the next block (rows in file order) or this batch (shuffled rows) on the background queue.
    public func prefetch(rows: ArraySlice<Int>, targets: Bool) {
        let withTargets = targets && targetName != nil
        if let range = HDF5Dataset.consecutive(rows) {
            if let current = currentBlock, HDF5Dataset.covers(current, range, withTargets) {
                if nextBlock == nil, let end = current.rows.last.map({ $0 + 1 }), end < sampleCount {
                    nextBlock = startBlock(at: end, minimumRows: range.count, withTargets: withTargets)
                }
            } else if nextBlock.map({ !HDF5Dataset.covers($0, range, withTargets) }) ?? true {
                nextBlock = startBlock(at: range.lowerBound, minimumRows: range.count, withTargets: withTargets)
            }
            return
        }
        try? nextBatch?.wait()
        let read = Read(
            rows: Array(rows), withTargets: withTargets, buffers: batchBuffers,
            inputStride: inputStride, targetStride: targetStride)
        nextBatch = read
        start(read) { [self] in
            try readScattered(read.rows, inputs: read.inputs.pointer, targets: read.withTargets ? read.targets.pointer : nil)
        }
    }

    // MARK: blocks of consecutive rows

    /// The block holding `range`: the current one, the one read ahead, or one read now.
    private func block(containing range: Range<Int>, withTargets: Bool) throws -> Read {
        if let current = currentBlock, HDF5Dataset.covers(current, range, withTargets) { return current }
        // A block becomes current only once read without error, so a failed one is never served.
        if let next = nextBlock, HDF5Dataset.covers(next, range, withTargets) {
            nextBlock = nil
            try next.wait()
            currentBlock = next
            return next
        }
        currentBlock = nil
        let block = startBlock(at: range.lowerBound, minimumRows: range.count, withTargets: withTargets)
        nextBlock = nil
        try block.wait()
        currentBlock = block
        return block
    }

    /// Starts reading the block of consecutive rows from `first` in the background, into the
    /// block buffers the current block does not use (any earlier read-ahead is finished first).
    private func startBlock(at first: Int, minimumRows: Int, withTargets: Bool) -> Read {
        try? nextBlock?.wait()
        let rowBytes = 4 * (inputStride + (withTargets ? targetStride : 0))
        // Whole batches per block, so no batch straddles two blocks.
        let batches = max(1, blockBytes / max(rowBytes, 1) / minimumRows)
        let count = min(batches * minimumRows, sampleCount - first)
        let buffers = blockBuffers[0] === currentBlock?.buffers ? blockBuffers[1] : blockBuffers[0]
        let read = Read(
            rows: Array(first..<(first + count)), withTargets: withTargets, buffers: buffers,
            inputStride: inputStride, targetStride: targetStride)
        start(read) { [self] in
            let range = first..<(first + count)
            try file.read(inputName, rows: range, into: read.inputs.pointer)
            if read.withTargets, let targetName { try file.read(targetName, rows: range, into: read.targets.pointer) }
            try checkFinite(read.inputs.pointer, stride: inputStride, rows: read.rows, dataset: inputName)
            if read.withTargets, let targetName {
                try checkFinite(read.targets.pointer, stride: targetStride, rows: read.rows, dataset: targetName)
            }
        }
        return read
    }

    private func start(_ read: Read, _ body: @escaping @Sendable () throws -> Void) {
        read.done.enter()
        queue.async {
            do { try body() } catch { read.error = error }
            read.done.leave()
        }
    }

    private static func consecutive(_ rows: ArraySlice<Int>) -> Range<Int>? {
        guard let first = rows.first, let last = rows.last, last - first + 1 == rows.count else { return nil }
        for (offset, row) in rows.enumerated() where row != first + offset { return nil }
        return first..<(last + 1)
    }

    private static func covers(_ read: Read, _ range: Range<Int>, _ withTargets: Bool) -> Bool {
        guard let first = read.rows.first, let last = read.rows.last else { return false }
        return first <= range.lowerBound && range.upperBound <= last + 1 && (read.withTargets || !withTargets)
    }

    // MARK: scattered rows

    /// Reads a block-shuffled epoch's batches of `rows` from whole blocks (`HDF5BlockCache`),
    /// read as consecutive rows, instead of row by row; nil goes back to reading rows. Waits
    /// for the batch read ahead first.
    public func readInBlocks(_ shuffle: BlockShuffle?, rows: Range<Int>) {
        try? nextBatch?.wait()
        nextBatch = nil
        blockCache = shuffle.map { HDF5BlockCache($0, rows: rows, inputStride: inputStride, targetStride: targetStride) }
    }

    /// The blocks read whole since `readInBlocks` (0 without a block shuffle).
    var blocksRead: Int { blockCache?.blocksRead ?? 0 }

    /// Reads rows in any order: one scattered read per dataset of the sorted rows,
    /// then each row copied to its place in the batch. At most one runs at a time (callers
    /// wait for the batch read ahead first), so `staging` is shared.
    private func readScattered(_ rows: [Int], inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
        for row in rows where !(0..<sampleCount).contains(row) {
            throw HDF5Error(file: file.path, dataset: inputName, "row \(row) outside its \(sampleCount) samples")
        }
        if let blockCache, rows.allSatisfy(blockCache.rows.contains) {
            try blockCache.copy(rows, inputs: inputs, targets: targets) { block in
                let rows = Array(block.rows)
                try file.read(inputName, rows: block.rows, into: block.inputs.pointer)
                try checkFinite(block.inputs.pointer, stride: inputStride, rows: rows, dataset: inputName)
                if block.withTargets, let targetName {
                    try file.read(targetName, rows: block.rows, into: block.targets.pointer)
                    try checkFinite(block.targets.pointer, stride: targetStride, rows: rows, dataset: targetName)
                }
            }
            return
        }
        let sorted = Array(Set(rows)).sorted()
        let position = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        func gather(_ name: String, stride: Int, into target: UnsafeMutablePointer<Float>) throws {
            let sortedValues = staging.reserveDiscarding(sorted.count * stride)
            try file.read(name, sortedRows: sorted, into: sortedValues)
            try checkFinite(sortedValues, stride: stride, rows: sorted, dataset: name)
            for (k, row) in rows.enumerated() {
                (target + k * stride).update(from: sortedValues + position[row]! * stride, count: stride)
            }
        }
        try gather(inputName, stride: inputStride, into: inputs)
        if let targets, let targetName { try gather(targetName, stride: targetStride, into: targets) }
    }

    private func checkFinite(_ values: UnsafePointer<Float>, stride: Int, rows: [Int], dataset: String) throws {
        for i in 0..<(rows.count * stride) where !values[i].isFinite {
            throw HDF5Error(file: file.path, dataset: dataset, "holds NaN or Inf at sample \(rows[i / stride])")
        }
    }
}
