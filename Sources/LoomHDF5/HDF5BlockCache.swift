@_spi(Kernels) import Loom

/// Whole blocks of rows kept for a block-shuffled epoch's scattered reads
/// (`HDF5Dataset.readInBlocks`): a batch's rows are copied out of the blocks that hold them,
/// each block read whole, once, while its window lasts, through the reads of consecutive
/// rows that in-order epochs use.
///
/// Holds `capacity` blocks, least recently used evicted first: two windows' worth and one
/// more, as a batch may straddle two windows and the next batch is read ahead. Used by one
/// thread at a time (the dataset's scattered reads never overlap).
final class HDF5BlockCache {
    /// One block: rows `rows` of the dataset, inputs `(rows, inputStride)` and, when
    /// `withTargets`, targets `(rows, targetStride)`.
    final class Block {
        var rows: Range<Int> = 0..<0
        var withTargets = false
        let inputs = FloatBuffer()
        let targets = FloatBuffer()
    }

    let shuffle: BlockShuffle
    private let capacity: Int
    private let inputStride: Int
    private let targetStride: Int
    /// The blocks held, least recently used first.
    private var held: [Block] = []

    init(_ shuffle: BlockShuffle, inputStride: Int, targetStride: Int) {
        self.shuffle = shuffle
        capacity = 2 * shuffle.windowBlocks + 1
        self.inputStride = inputStride
        self.targetStride = targetStride
    }

    /// Copies the inputs (and targets, when `targets` is given) of `rows` into the buffers,
    /// from the blocks holding them; a block not held is read by `read`, which fills its
    /// `inputs` (and its `targets` when its `withTargets`) for its `rows`, of `sampleCount`.
    func copy(
        _ rows: [Int], inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?, sampleCount: Int,
        read: (Block) throws -> Void
    ) throws {
        var block: Block?
        for (k, row) in rows.enumerated() {
            if block.map({ !$0.rows.contains(row) }) ?? true {
                block = try self.block(holding: row, withTargets: targets != nil, sampleCount: sampleCount, read: read)
            }
            let source = block!, offset = row - source.rows.lowerBound
            (inputs + k * inputStride).update(from: source.inputs.pointer + offset * inputStride, count: inputStride)
            if let targets {
                (targets + k * targetStride).update(from: source.targets.pointer + offset * targetStride, count: targetStride)
            }
        }
    }

    /// The block holding `row`, read now unless held (with targets when `withTargets`).
    private func block(holding row: Int, withTargets: Bool, sampleCount: Int, read: (Block) throws -> Void) throws -> Block {
        let first = row / shuffle.blockRows * shuffle.blockRows
        if let at = held.lastIndex(where: { $0.rows.lowerBound == first }) {
            let block = held.remove(at: at)
            if block.withTargets || !withTargets {
                held.append(block)
                return block
            }
        }
        // A block joins the cache only once read without error, so a failed one is never served.
        let block = held.count >= capacity ? held.removeFirst() : Block()
        block.rows = first..<min(first + shuffle.blockRows, sampleCount)
        block.withTargets = withTargets
        block.inputs.reserveDiscarding(block.rows.count * inputStride)
        if withTargets { block.targets.reserveDiscarding(block.rows.count * targetStride) }
        try read(block)
        held.append(block)
        return block
    }
}
