/// Where every parameter tensor of a model lies in its flat buffers, computed once when the
/// model builds, and the fixed blocks that sums over the parameters are taken in.
///
/// Layout: layer by layer, and within a layer in Keras's weight order (`parameterSpecs`),
/// each tensor row-major. Every buffer of the parameters' size (values, gradients, a
/// replica's copies, optimizer state) has this layout.
///
/// Blocks: each variable (tensor) is cut into pieces of at most `blockSize` scalars, in
/// buffer order. A norm over a variable or over all parameters is the sum, in block order,
/// of each block's sum of squares; a block is always summed whole by one worker, so the norm
/// does not depend on how the buffer is cut among workers.
struct ParameterLayout {
    /// One parameter tensor.
    struct Variable {
        /// The owning layer's index in the model.
        let layer: Int
        /// Keras's variable name ("kernel", "recurrent_kernel", "bias").
        let name: String
        let shape: [Int]
        /// Its scalars in the flat buffers.
        let range: Range<Int>
        /// Its blocks, indices into `blocks`.
        let blocks: Range<Int>
    }

    /// A worker's part of the buffers: whole blocks, contiguous.
    struct Slice {
        /// Indices into `blocks`.
        let blocks: Range<Int>
        /// The scalars those blocks cover.
        let range: Range<Int>
    }

    /// The most scalars a block holds.
    static let blockSize = 4096

    let variables: [Variable]
    /// Each layer's first scalar, in model order.
    let layerOffsets: [Int]
    /// Every block's scalars, in buffer order.
    let blocks: [Range<Int>]
    /// The variable (index into `variables`) each block belongs to.
    let blockVariables: [Int]
    /// The number of scalars in all parameters.
    let count: Int

    /// The layout of `layers`' parameters, in model order.
    init(layers: [any Layer]) {
        var variables: [Variable] = [], layerOffsets: [Int] = [], blocks: [Range<Int>] = [], blockVariables: [Int] = []
        var offset = 0
        for (index, layer) in layers.enumerated() {
            layerOffsets.append(offset)
            for spec in layer.parameterSpecs {
                let range = offset..<(offset + spec.count)
                let firstBlock = blocks.count
                var start = range.lowerBound
                while start < range.upperBound {
                    let end = min(start + ParameterLayout.blockSize, range.upperBound)
                    blocks.append(start..<end)
                    blockVariables.append(variables.count)
                    start = end
                }
                variables.append(
                    Variable(layer: index, name: spec.name, shape: spec.shape, range: range, blocks: firstBlock..<blocks.count))
                offset = range.upperBound
            }
        }
        self.variables = variables
        self.layerOffsets = layerOffsets
        self.blocks = blocks
        self.blockVariables = blockVariables
        count = offset
    }

    /// The buffers cut into `parts` slices of whole blocks, in order, each starting at the
    /// first block at or after its even share (`part · count / parts`); some may be empty.
    func slices(_ parts: Int) -> [Slice] {
        var firstBlocks: [Int] = []
        var block = 0
        for part in 0..<parts {
            let target = part * count / parts
            while block < blocks.count && blocks[block].lowerBound < target { block += 1 }
            firstBlocks.append(block)
        }
        firstBlocks.append(blocks.count)
        return (0..<parts).map { part in
            let indices = firstBlocks[part]..<firstBlocks[part + 1]
            let start = indices.lowerBound < blocks.count ? blocks[indices.lowerBound].lowerBound : count
            let end = indices.upperBound < blocks.count ? blocks[indices.upperBound].lowerBound : count
            return Slice(blocks: indices, range: start..<end)
        }
    }

    /// The variable holding scalar `offset`.
    func variable(containing offset: Int) -> Variable {
        var low = 0, high = variables.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if variables[middle].range.lowerBound <= offset { low = middle } else { high = middle - 1 }
        }
        return variables[low]
    }

    /// Tensors of each variable's shape, copied from `buffer` (of this layout).
    func tensors(from buffer: UnsafePointer<Float>) -> [Tensor] {
        variables.map { Tensor(shape: $0.shape, copying: buffer + $0.range.lowerBound) }
    }
}
