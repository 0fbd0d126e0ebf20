/// A shuffle that reads a file in runs: each epoch permutes blocks of `blockRows`
/// consecutive rows, then the rows within each window of `windowBlocks` blocks of that order.
///
/// Every row comes once an epoch, in an order that differs from epoch to epoch and seed to
/// seed, but a batch of at most `windowBlocks · blockRows` rows draws them from one window
/// (or two, where windows meet): a streaming dataset reads whole blocks, a window's at a
/// time, instead of rows scattered over the file (`Dataset.readInBlocks`). What it gives up:
/// rows of one block always share a window, and rows of blocks in different windows of the
/// epoch never share a batch; a window of W blocks of R rows mixes W·R rows, where a full
/// shuffle mixes all of them. The losses it trained to against a full shuffle are in the
/// README (windows of 4 blocks of 16 and of 1,024 rows).
///
/// The order is computed batch by batch from one key (no per-row memory, only the block
/// order), so a run resumed mid-epoch continues the same order.
public struct BlockShuffle: Equatable, Sendable, CustomStringConvertible {
    /// Rows a block holds (the last block of the rows may hold fewer).
    public let blockRows: Int
    /// Blocks a window holds, whose rows are permuted together.
    public let windowBlocks: Int

    /// Blocks of `blockRows` rows in windows of `windowBlocks` blocks; both at least 1.
    public init(blockRows: Int, windowBlocks: Int) throws {
        guard blockRows >= 1, windowBlocks >= 1 else {
            throw LoomError.invalidArgument(
                "a block shuffle needs at least 1 row a block and 1 block a window, got \(blockRows) and \(windowBlocks)")
        }
        self.blockRows = blockRows
        self.windowBlocks = windowBlocks
    }

    /// "blocks of R rows, windows of W blocks": how a checkpoint records it.
    public var description: String { "blocks of \(blockRows) rows, windows of \(windowBlocks) blocks" }
}
