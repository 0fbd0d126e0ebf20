@_spi(Kernels) import Loom

/// Whole blocks of rows kept for a block-shuffled epoch's scattered reads
/// (`HDF5Dataset.readInBlocks`): a batch's rows are copied out of the blocks that hold them,
/// each block read whole, once, while its window lasts, as consecutive rows (the reads
/// in-order epochs use).
///
/// Blocks are those of the shuffle's rows (`rows.lowerBound + k·blockRows`, clipped to
/// `rows`). Reads follow the epoch's positions, so once a batch reaches the next window the
/// last one's blocks are done: a window's blocks and one more are held, the least recently
/// used evicted first. Used by one thread at a time (the dataset's scattered reads never
/// overlap).
final class HDF5BlockCache {
    /// One block: rows `rows` of the dataset, inputs `(rows, inputStride)` and, when
    /// `withTargets`, targets `(rows, targetStride)`.
    final class Block {
        var rows: Range<Int> = 0..<0
        var withTargets = false
        var lastUse = 0
        let inputs = FloatBuffer()
        let targets = FloatBuffer()
    }

    let shuffle: BlockShuffle
    /// The rows the shuffle orders, in the dataset's numbering.
    let rows: Range<Int>
    private let capacity: Int
    private let inputStride: Int
    private let targetStride: Int
    /// The blocks held, by their index in `rows`.
    private var held: [Int: Block] = [:]
    private var uses = 0
    /// Blocks read so far (each block once a window, when nothing is evicted early).
    private(set) var blocksRead = 0

    init(_ shuffle: BlockShuffle, rows: Range<Int>, inputStride: Int, targetStride: Int) {
        self.shuffle = shuffle
        self.rows = rows
        let blocks = rows.isEmpty ? 0 : (rows.count - 1) / shuffle.blockRows + 1
        capacity = min(shuffle.windowBlocks, blocks) + 1
        self.inputStride = inputStride
        self.targetStride = targetStride
    }

    /// Copies the inputs (and targets, when `targets` is given) of `rows` (all inside the
    /// shuffle's rows) into the buffers, from the blocks holding them; a block not held is
    /// read by `read`, which fills its `inputs` (and its `targets` when its `withTargets`) for
    /// its `rows`.
    func copy(
        _ rows: [Int], inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?, read: (Block) throws -> Void
    ) throws {
        for (k, row) in rows.enumerated() {
            let block = try self.block(holding: row, withTargets: targets != nil, read: read)
            let offset = row - block.rows.lowerBound
            (inputs + k * inputStride).update(from: block.inputs.pointer + offset * inputStride, count: inputStride)
            if let targets {
                (targets + k * targetStride).update(from: block.targets.pointer + offset * targetStride, count: targetStride)
            }
        }
    }

    /// The block holding `row`, read now unless held (with targets when `withTargets`).
    private func block(holding row: Int, withTargets: Bool, read: (Block) throws -> Void) throws -> Block {
        let index = (row - rows.lowerBound) / shuffle.blockRows
        uses += 1
        if let block = held[index], block.withTargets || !withTargets {
            block.lastUse = uses
            return block
        }
        // A block joins the cache only once read without error, so a failed one is never served.
        let block: Block
        if let same = held.removeValue(forKey: index) {
            block = same
        } else if held.count >= capacity, let oldest = held.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            block = held.removeValue(forKey: oldest.key)!
        } else {
            block = Block()
        }
        let first = rows.lowerBound + index * shuffle.blockRows
        block.rows = first..<(first + min(shuffle.blockRows, rows.upperBound - first))
        block.withTargets = withTargets
        block.lastUse = uses
        block.inputs.reserveDiscarding(block.rows.count * inputStride)
        if withTargets { block.targets.reserveDiscarding(block.rows.count * targetStride) }
        try read(block)
        blocksRead += 1
        held[index] = block
        return block
    }
}
