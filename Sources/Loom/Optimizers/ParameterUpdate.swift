/// One optimizer update of a parameter buffer from its gradient buffer, in Keras 3's order:
/// the gradients clipped (`GradientClipping`), the weights decayed (`weightDecay`), then the
/// optimizer's own step (for a `LayerwiseOptimizer`, its two phases).
///
/// Workers run it together, each on its slice (`slices`, whole blocks of the
/// `ParameterLayout`). A norm is summed over the layout's blocks in block order: each worker
/// writes the sums of squares of its own blocks, then, after the barrier, every worker adds
/// the blocks it needs in that order. So norms, and the whole update, have the same bits
/// however many workers run it.
///
/// Who writes what: worker w writes `values`, `gradients` (clipped in place) and the
/// optimizer's state on its slice, and the block sums of its blocks; it reads other blocks'
/// sums only after a barrier.
final class ParameterUpdate {
    let layout: ParameterLayout
    let slices: [ParameterLayout.Slice]
    /// Per block, Σg² (clipping by norm), Σw² and Σd² (layer-wise optimizers).
    private let gradientSquares: UnsafeMutableBufferPointer<Double>
    private let weightSquares: UnsafeMutableBufferPointer<Double>
    private let directionSquares: UnsafeMutableBufferPointer<Double>

    /// An update of buffers of `layout`, cut for `workers` workers.
    init(layout: ParameterLayout, workers: Int) {
        self.layout = layout
        slices = layout.slices(workers)
        let blocks = layout.blocks.count
        gradientSquares = .allocate(capacity: blocks)
        weightSquares = .allocate(capacity: blocks)
        directionSquares = .allocate(capacity: blocks)
        for buffer in [gradientSquares, weightSquares, directionSquares] { buffer.initialize(repeating: 0) }
    }

    deinit {
        for buffer in [gradientSquares, weightSquares, directionSquares] { buffer.deallocate() }
    }

    /// Worker `worker`'s part of update number `step` at `rate`: its slice of `values`, from
    /// its slice of `gradients`. Every worker calls it (`barrier` is waited on by all of them
    /// between the phases that read other workers' blocks; nil with one worker), after
    /// `optimizer.willUpdate(step:)` was called once.
    func apply(
        worker: Int, values: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
        optimizer: any Optimizer, step: Int, rate: Float, barrier: SpinBarrier?
    ) {
        let slice = slices[worker]
        clip(slice, gradients: gradients, clipping: optimizer.clipping, barrier: barrier)
        if let decay = optimizer.weightDecay, decay != 0 {
            Kernels.table.decayWeights(values + slice.range.lowerBound, slice.range.count, decay, rate)
        }
        guard let layerwise = optimizer as? any LayerwiseOptimizer else {
            optimizer.update(parameters: values, gradients: gradients, range: slice.range, step: step, rate: rate)
            return
        }
        let directions = layerwise.prepareDirections(
            parameters: values, gradients: gradients, range: slice.range, step: step)
        for block in slice.blocks {
            let range = layout.blocks[block]
            weightSquares[block] = Kernels.table.sumOfSquares(values + range.lowerBound, range.count)
            directionSquares[block] = Kernels.table.sumOfSquares(directions + range.lowerBound, range.count)
        }
        barrier?.wait()
        forEachVariable(in: slice) { variable, range in
            let ratio = layerwise.trustRatio(
                weightNorm: norm(of: weightSquares, over: variable.blocks),
                directionNorm: norm(of: directionSquares, over: variable.blocks))
            layerwise.applyDirections(parameters: values, gradients: gradients, range: range, rate: rate, trustRatio: ratio)
        }
    }

    /// Clips the gradients of `slice` in place (norms over whole variables or all parameters).
    private func clip(
        _ slice: ParameterLayout.Slice, gradients: UnsafeMutablePointer<Float>, clipping: GradientClipping,
        barrier: SpinBarrier?
    ) {
        if case .value(let limit) = clipping {
            Kernels.table.clipValues(gradients + slice.range.lowerBound, slice.range.count, limit)
            return
        }
        guard clipping.needsNorms else { return }
        for block in slice.blocks {
            let range = layout.blocks[block]
            gradientSquares[block] = Kernels.table.sumOfSquares(gradients + range.lowerBound, range.count)
        }
        barrier?.wait()
        switch clipping {
        case .norm(let limit):
            forEachVariable(in: slice) { variable, range in
                let norm = norm(of: gradientSquares, over: variable.blocks)
                guard norm > limit else { return }
                Kernels.table.scaleValues(gradients + range.lowerBound, range.count, limit / norm)
            }
        case .globalNorm(let limit):
            let norm = norm(of: gradientSquares, over: 0..<layout.blocks.count)
            // Keras's scale: 1 for a norm within the limit, NaN for one that is not finite.
            let scale = limit * min(1 / norm, 1 / limit) + (norm - norm)
            guard scale != 1 else { return }
            Kernels.table.scaleValues(gradients + slice.range.lowerBound, slice.range.count, scale)
        case .none, .value:
            return
        }
    }

    /// √(Σ of `squares` over `blocks`, in block order), in Float.
    private func norm(of squares: UnsafeMutableBufferPointer<Double>, over blocks: Range<Int>) -> Float {
        var sum = 0.0
        for block in blocks { sum += squares[block] }
        return Float(sum.squareRoot())
    }

    /// Calls `body` with each variable that `slice` holds part of and that part's scalars.
    private func forEachVariable(
        in slice: ParameterLayout.Slice, _ body: (ParameterLayout.Variable, Range<Int>) -> Void
    ) {
        var block = slice.blocks.lowerBound
        while block < slice.blocks.upperBound {
            let variable = layout.variables[layout.blockVariables[block]]
            let last = min(variable.blocks.upperBound, slice.blocks.upperBound)
            body(variable, layout.blocks[block].lowerBound..<layout.blocks[last - 1].upperBound)
            block = last
        }
    }
}
