import Foundation

/// The sequence handling every recurrent layer shares: its configuration, the time-major
/// input and hidden states, the output, the input gradient, and the carried state.
///
/// A pass reads `x (B, T, F)` into `inputByTime (T, B, F)` (reversed for `goBackwards`),
/// starts `hidden (T+1, B, U)` from zero or from the carried state of its rows, and returns
/// the states as the output sequence or the last state. `hidden[0]` is the initial state.
///
/// A masked pass either skips the padding (`skipsPadding`: the time-major rows follow the
/// `PaddingOrder`, and step `t` computes its first `activeRows(t)` rows) or, for masks it
/// cannot sort, computes every row and carries the masked ones (`stepMask`).
final class RecurrentSequence {
    let units: Int
    let returnSequences: Bool
    let goBackwards: Bool
    let stateful: Bool
    /// Whether a pass starts from the state the last one of its rows ended with and keeps its
    /// own: stateful layers, and every recurrent layer while a truncated-BPTT fit runs the
    /// chunks of a batch one after the other.
    var carriesState: Bool
    /// Keras's `zero_output_for_mask`: a masked step outputs zeros instead of repeating the
    /// last output (`Bidirectional` sets it to `returnSequences`).
    var zeroOutputForMask = false
    private(set) var timesteps = 0
    private(set) var features = 0
    /// The rows of the whole batch this layer's batches are (set on data-parallel replicas).
    var shardRows: ShardRows?
    /// Stateful carry, shared with the layer's replicas.
    private(set) var stateStore: RecurrentStateStore

    let inputByTime = FloatBuffer()  // (T, B, F)
    let hidden = FloatBuffer()  // (T+1, B, U)
    let hiddenGradient = FloatBuffer()  // (B, U)
    let transposedRecurrent = FloatBuffer()  // (width, U): recurrent_kernelᵀ for the backward
    private let output = FloatBuffer()  // (B, T, U) or (B, U)
    private let inputGradientByTime = FloatBuffer()  // (T, B, F)
    private let inputGradient = FloatBuffer()  // (B, T, F)
    // With a mask: the pass's mask and which outputs are the state (1) rather than zeros (0),
    // both (T, B) in processing order; the gradients of masked rows kept across a step.
    private let stepMaskBuffer = FloatBuffer()
    private let outputKept = FloatBuffer()
    private let keptHiddenGradient = FloatBuffer()  // (B, U)
    private let keptCellGradient = FloatBuffer()  // (B, U)
    private let stateScratch = FloatBuffer()  // (B, U): a carried state in the batch's order
    /// The order of a pass that skips the padding.
    private let padding = PaddingOrder()
    /// Whether the current pass skips the padding (rows in `padding`'s order).
    private(set) var skipsPadding = false
    /// The mask of the pass, `(T, B)` in processing order (reversed for `goBackwards`), or nil.
    private(set) var stepMask: UnsafePointer<Float>?

    init(units: Int, returnSequences: Bool, goBackwards: Bool, stateful: Bool, stateComponents: Int) {
        self.units = units
        self.returnSequences = returnSequences
        self.goBackwards = goBackwards
        self.stateful = stateful
        carriesState = stateful
        stateStore = RecurrentStateStore(components: stateComponents, units: units)
    }

    /// Checks a per-sample input shape for the layer `layer` ("LSTM 'lstm'"); returns the output shape.
    func build(inputShape: [Int], layer: String) throws -> [Int] {
        guard units > 0 else { throw LoomError.invalidArgument("\(layer): units must be positive, got \(units)") }
        guard inputShape.count == 2, inputShape[0] > 0, inputShape[1] > 0 else {
            throw LoomError.shapeMismatch(context: layer, expected: "(batch, timesteps, features)", found: [-1] + inputShape)
        }
        (timesteps, features) = (inputShape[0], inputShape[1])
        return returnSequences ? [timesteps, units] : [units]
    }

    /// A copy for a replica: same configuration and shape, the same carried state, own buffers.
    func replica() -> RecurrentSequence {
        let copy = RecurrentSequence(
            units: units, returnSequences: returnSequences, goBackwards: goBackwards,
            stateful: stateful, stateComponents: stateStore.components)
        (copy.timesteps, copy.features, copy.stateStore) = (timesteps, features, stateStore)
        copy.zeroOutputForMask = zeroOutputForMask
        copy.carriesState = carriesState
        return copy
    }

    /// Starts a pass of `batch` rows: the time-major input, and `hidden[0]` (and `cell`, for an
    /// LSTM) set to the carried state of these rows or to zeros. Returns whether it starts
    /// from zeros (then the first step's recurrent product can be skipped).
    func begin(_ x: UnsafePointer<Float>, batch: Int, cell: UnsafeMutablePointer<Float>? = nil) -> Bool {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let xT = inputByTime.reserveDiscarding(T * B * F), h = hidden.reserveDiscarding((T + 1) * B * U)
        TimeMajor.transpose(x, into: xT, batch: B, steps: T, width: F, reversed: goBackwards, order: rowOrder)
        if carriesState, stateStore.load(hidden: h, cell: cell, rows: shardRows ?? ShardRows(offset: 0, batchSize: B), batch: B, units: U) {
            if let order = rowOrder {
                reorder(h, batch: B, order: order, gathering: true)
                if let cell { reorder(cell, batch: B, order: order, gathering: true) }
            }
            return false
        }
        h.update(repeating: 0, count: B * U)
        cell?.update(repeating: 0, count: B * U)
        return true
    }

    /// A final state `(B, U)` of the pass (`hidden[T]`, or an LSTM's last cell) as a tensor,
    /// rows in the batch's order.
    func stateTensor(_ state: UnsafePointer<Float>, batch: Int) -> Tensor {
        let U = units
        var values = [Float](repeating: 0, count: batch * U)
        let order = rowOrder
        for i in 0..<batch {
            let b = order?[i] ?? i
            for j in 0..<U { values[b * U + j] = state[i * U + j] }
        }
        return try! Tensor(shape: [batch, U], scalars: values)
    }

    /// The time-major rows' batch rows, when the pass skips the padding.
    var rowOrder: [Int]? { skipsPadding ? padding.rows : nil }

    /// The rows step `t` computes: the first `activeRows(t)` (all of them unless the pass skips the padding).
    func activeRows(_ t: Int, batch: Int) -> Int { skipsPadding ? padding.active[t] : batch }

    /// A state `(B, U)` between the batch's order and the pass's: row `i` from row `order[i]`
    /// (`gathering`), or back.
    private func reorder(_ state: UnsafeMutablePointer<Float>, batch: Int, order: [Int], gathering: Bool) {
        let U = units, scratch = stateScratch.reserveDiscarding(batch * U)
        scratch.update(from: state, count: batch * U)
        for (i, b) in order.enumerated() {
            if gathering {
                (state + i * U).update(from: scratch + b * U, count: U)
            } else {
                (state + b * U).update(from: scratch + i * U, count: U)
            }
        }
    }

    /// Takes the mask `(B, T)` of the pass about to start (nil: none): the pass skips the
    /// padding when `PaddingOrder` can sort it, else it carries the masked rows.
    func setMask(_ mask: UnsafePointer<Float>?, batch: Int) {
        skipsPadding = false
        guard let mask else {
            stepMask = nil
            return
        }
        let (T, B) = (timesteps, batch)
        if !(0..<(B * T)).contains(where: { mask[$0] == 0 }) {
            // Nothing is padded: the pass is the unmasked one.
            stepMask = nil
            return
        }
        if PaddingOrder.isEnabled, padding.plan(mask: mask, batch: B, steps: T, reversed: goBackwards) {
            stepMask = nil
            skipsPadding = true
            let kept = outputKept.reserveDiscarding(T * B)
            for i in 0..<B {
                let (start, end) = (padding.starts[i], padding.ends[i])
                for t in 0..<T { kept[t * B + i] = (start <= t && t < end) || (start < end && t >= end && !zeroOutputForMask) ? 1 : 0 }
            }
            return
        }
        let m = stepMaskBuffer.reserveDiscarding(T * B)
        for b in 0..<B {
            for t in 0..<T { m[(goBackwards ? T - 1 - t : t) * B + b] = mask[b * T + t] }
        }
        stepMask = UnsafePointer(m)
    }

    /// After step `t` of the forward pass: each row the step skipped (past `activeRows`, or
    /// masked at `t`) keeps the state it had before it, `hidden[t]` into `hidden[t+1]` (and
    /// the same in `cell`, `(T+1, B, U)`).
    func carrySkippedRows(step t: Int, batch: Int, cell: UnsafeMutablePointer<Float>? = nil) {
        let (B, U) = (batch, units)
        func carry(_ b: Int) {
            let from = (t * B + b) * U, to = ((t + 1) * B + b) * U
            (hidden.pointer + to).update(from: hidden.pointer + from, count: U)
            if let cell { (cell + to).update(from: cell + from, count: U) }
        }
        if skipsPadding {
            for b in padding.active[t]..<B { carry(b) }
        } else if let mask = stepMask {
            for b in 0..<B where mask[t * B + b] == 0 { carry(b) }
        }
    }

    /// dh (B, U) += the output gradient `dy` at step `t` (`TimeMajor.addOutputGradient`, in the pass's row order).
    func addOutputGradient(_ dy: UnsafePointer<Float>, step t: Int, into dh: UnsafeMutablePointer<Float>, batch: Int) {
        TimeMajor.addOutputGradient(
            dy, step: t, into: dh, batch: batch, steps: timesteps, units: units, sequences: returnSequences, order: rowOrder)
    }

    /// The rows of a time-major buffer `(T, B, width)` that computed, packed `(activeTotal, width)`
    /// step after step (the source itself when the pass skipped nothing), and their count: the
    /// weight gradients' products then leave the padding out.
    func activeRows(
        of source: UnsafePointer<Float>, width: Int, batch: Int, into buffer: FloatBuffer
    ) -> (rows: UnsafePointer<Float>, count: Int) {
        guard skipsPadding else { return (source, timesteps * batch) }
        let packed = buffer.reserveDiscarding(padding.activeTotal * width)
        var offset = 0
        for t in 0..<timesteps {
            let count = padding.active[t] * width
            (packed + offset).update(from: source + t * batch * width, count: count)
            offset += count
        }
        return (UnsafePointer(packed), padding.activeTotal)
    }

    /// Before step `t`'s backward: keeps dL/dh (and dL/dc) of the rows masked at `t`, which
    /// pass through the step unchanged (`restoreMaskedGradients`).
    func keepMaskedGradients(step t: Int, batch: Int, hidden dh: UnsafePointer<Float>, cell dc: UnsafePointer<Float>? = nil) {
        guard let mask = stepMask else { return }
        let (B, U) = (batch, units)
        let keptH = keptHiddenGradient.reserveDiscarding(B * U), keptC = keptCellGradient.reserveDiscarding(B * U)
        for b in 0..<B where mask[t * B + b] == 0 {
            (keptH + b * U).update(from: dh + b * U, count: U)
            if let dc { (keptC + b * U).update(from: dc + b * U, count: U) }
        }
    }

    /// Zeroes the gate gradients `(B, width)` of the rows step `t` skipped (past
    /// `activeRows`, or masked at `t`): a skipped step changes no weight and no input.
    func zeroSkippedGates(step t: Int, batch: Int, gates: UnsafeMutablePointer<Float>, width: Int) {
        if skipsPadding {
            let active = padding.active[t]
            (gates + active * width).update(repeating: 0, count: (batch - active) * width)
        } else if let mask = stepMask {
            for b in 0..<batch where mask[t * batch + b] == 0 { (gates + b * width).update(repeating: 0, count: width) }
        }
    }

    /// Puts back what `keepMaskedGradients` kept of `dh` (`hidden: true`) or of `dc`, for the
    /// rows masked at step `t`: their gradient into the state before the step.
    func restoreMaskedGradients(step t: Int, batch: Int, into gradient: UnsafeMutablePointer<Float>, hidden: Bool) {
        guard let mask = stepMask else { return }
        let (B, U) = (batch, units)
        let kept = hidden ? keptHiddenGradient.pointer : keptCellGradient.pointer
        for b in 0..<B where mask[t * B + b] == 0 { (gradient + b * U).update(from: kept + b * U, count: U) }
    }

    /// With a mask, zeroes the positions of an output `(B, T, U)` or `(B, U)`, or of its
    /// gradient, where the pass outputs zeros rather than the state (`end`'s `outputKept`):
    /// nothing flows back from those outputs.
    func zeroUnkeptOutputs(_ dy: UnsafeMutablePointer<Float>, batch: Int) {
        guard stepMask != nil || skipsPadding else { return }
        let (T, B, U) = (timesteps, batch, units)
        let kept = outputKept.pointer, order = rowOrder
        for i in 0..<B {
            let b = order?[i] ?? i
            if returnSequences {
                for t in 0..<T where kept[t * B + i] == 0 { (dy + (b * T + t) * U).update(repeating: 0, count: U) }
            } else if kept[(T - 1) * B + i] == 0 {
                (dy + b * U).update(repeating: 0, count: U)
            }
        }
    }

    /// Ends a pass: keeps the final state (and `cell`) when it carries state, returns the output.
    ///
    /// With a mask, the output at a masked step is Keras's: the last valid step's output (the
    /// state carried), zeros before a row's first valid step, and zeros at every masked step
    /// with `zeroOutputForMask`.
    func end(batch: Int, cell: UnsafePointer<Float>? = nil) -> UnsafePointer<Float> {
        let (T, B, U) = (timesteps, batch, units)
        let h = hidden.pointer
        let y = output.reserveDiscarding(B * (returnSequences ? T : 1) * U)
        TimeMajor.output(hidden: h, into: y, batch: B, steps: T, units: U, sequences: returnSequences, order: rowOrder)
        if skipsPadding { zeroUnkeptOutputs(y, batch: B) }
        if let mask = stepMask {
            let kept = outputKept.reserveDiscarding(T * B)
            for b in 0..<B {
                var seenValid = false
                for t in 0..<T {
                    let valid = mask[t * B + b] != 0
                    seenValid = seenValid || valid
                    kept[t * B + b] = valid || (seenValid && !zeroOutputForMask) ? 1 : 0
                }
            }
            zeroUnkeptOutputs(y, batch: B)
        }
        if carriesState {
            let rows = shardRows ?? ShardRows(offset: 0, batchSize: B)
            if let order = rowOrder {
                // The final states in the batch's order, the pass's own left as they were.
                let final = h + T * B * U
                reorder(final, batch: B, order: order, gathering: false)
                if let cell { reorder(UnsafeMutablePointer(mutating: cell), batch: B, order: order, gathering: false) }
                stateStore.keep(hidden: final, cell: cell, rows: rows, batch: B, units: U)
                reorder(final, batch: B, order: order, gathering: true)
                if let cell { reorder(UnsafeMutablePointer(mutating: cell), batch: B, order: order, gathering: true) }
            } else {
                stateStore.keep(hidden: h + T * B * U, cell: cell, rows: rows, batch: B, units: U)
            }
        }
        return UnsafePointer(y)
    }

    /// Starts a backward pass: dL/dh zeroed, returned, and recurrent_kernelᵀ `(width, units)`.
    func beginBackward(batch: Int, weights: RecurrentWeights, width: Int) -> (UnsafeMutablePointer<Float>, UnsafePointer<Float>) {
        let dh = hiddenGradient.reserveDiscarding(batch * units)
        dh.update(repeating: 0, count: batch * units)
        let transposed = transposedRecurrent.reserveDiscarding(width * units)
        weights.transposeRecurrent(units: units, width: width, into: transposed)
        return (dh, UnsafePointer(transposed))
    }

    /// dL/dx (B, T, F) from the input gates' gradient `dInput (T·B, width)`, times the input
    /// dropout mask `(B, F)` of the pass when there was one.
    func inputGradient(
        weights: RecurrentWeights, gates dInput: UnsafePointer<Float>, batch: Int, width: Int,
        inputMask: UnsafePointer<Float>? = nil
    ) -> UnsafeMutablePointer<Float> {
        let (T, B, F) = (timesteps, batch, features)
        let dxT = inputGradientByTime.reserveDiscarding(T * B * F)
        weights.inputGradient(dInput, rows: T * B, features: F, width: width, into: dxT)
        if let inputMask { RecurrentDropout.apply(inputMask, to: dxT, steps: T, rows: B, width: F) }
        let dx = inputGradient.reserveDiscarding(B * T * F)
        TimeMajor.untranspose(dxT, into: dx, batch: B, steps: T, width: F, reversed: goBackwards, order: rowOrder)
        return dx
    }
}

/// The carried state of a stateful recurrent layer (h, and c for an LSTM, each
/// `(batchSize, units)`), per batch size, shared by the layer and its data-parallel
/// replicas: each replica reads and writes only its own rows, so the state of row i is the
/// same whatever the worker count. Entries are created under a lock; rows are disjoint, so
/// reads and writes need none.
final class RecurrentStateStore: @unchecked Sendable {
    /// 1 (h) or 2 (h and c).
    let components: Int
    private var states: [Int: [FloatBuffer]] = [:]
    /// The layer's units: the width of a row of every state.
    let units: Int
    private let lock = NSLock()

    init(components: Int, units: Int) {
        self.components = components
        self.units = units
    }

    /// The state for `batchSize`-row batches, if one was kept.
    func existing(batchSize: Int) -> [FloatBuffer]? {
        lock.withLock { states[batchSize] }
    }

    /// Copies the kept state of `rows` into `hidden` (and `cell`), each `(batch, units)`;
    /// returns false, copying nothing, when none was kept.
    func load(hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>?, rows: ShardRows, batch: Int, units: Int) -> Bool {
        guard let state = existing(batchSize: rows.batchSize) else { return false }
        hidden.update(from: state[0].pointer + rows.offset * units, count: batch * units)
        cell?.update(from: state[1].pointer + rows.offset * units, count: batch * units)
        return true
    }

    /// Keeps the final `hidden` (and `cell`) as the state of `rows`.
    func keep(hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>?, rows: ShardRows, batch: Int, units: Int) {
        let state = lock.withLock {
            if let state = states[rows.batchSize] { return state }
            let state = (0..<components).map { _ in FloatBuffer(count: rows.batchSize * units) }
            states[rows.batchSize] = state
            return state
        }
        (state[0].pointer + rows.offset * units).update(from: hidden, count: batch * units)
        if let cell { (state[1].pointer + rows.offset * units).update(from: cell, count: batch * units) }
    }

    /// Copies of the kept states, by batch size ascending: one array per component,
    /// `(batchSize, units)` row-major.
    var entries: [(batchSize: Int, values: [[Float]])] {
        lock.withLock {
            states.sorted { $0.key < $1.key }.map { batchSize, buffers in
                (batchSize, buffers.map { Array(UnsafeBufferPointer(start: $0.pointer, count: batchSize * units)) })
            }
        }
    }

    /// Replaces the kept state for `batchSize`-row batches with `values` (one array per
    /// component, `batchSize · units` values each, as `TrainingRun.restore` checks).
    func restore(batchSize: Int, values: [[Float]]) {
        let state = values.map { component in
            let buffer = FloatBuffer(count: component.count)
            component.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: $0.count) }
            return buffer
        }
        lock.withLock { states[batchSize] = state }
    }

    /// Forgets every kept state (the next batch of any size starts from zeros).
    func removeAll() {
        lock.withLock { states = [:] }
    }

    func reset() {
        lock.withLock {
            for state in states.values { for buffer in state { buffer.zero() } }
        }
    }
}
