import Foundation

/// The sequence handling every recurrent layer shares: its configuration, the time-major
/// input and hidden states, the output, the input gradient, and the carried state.
///
/// A pass reads `x (B, T, F)` into `inputByTime (T, B, F)` (reversed for `goBackwards`),
/// starts `hidden (T+1, B, U)` from zero or from the carried state of its rows, and returns
/// the states as the output sequence or the last state. `hidden[0]` is the initial state.
final class RecurrentSequence {
    let units: Int
    let returnSequences: Bool
    let goBackwards: Bool
    let stateful: Bool
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

    init(units: Int, returnSequences: Bool, goBackwards: Bool, stateful: Bool, stateComponents: Int) {
        self.units = units
        self.returnSequences = returnSequences
        self.goBackwards = goBackwards
        self.stateful = stateful
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
        return copy
    }

    /// Starts a pass of `batch` rows: the time-major input, and `hidden[0]` (and `cell`, for an
    /// LSTM) set to the carried state of these rows or to zeros. Returns whether it starts
    /// from zeros (then the first step's recurrent product can be skipped).
    func begin(_ x: UnsafePointer<Float>, batch: Int, cell: UnsafeMutablePointer<Float>? = nil) -> Bool {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let xT = inputByTime.reserve(T * B * F), h = hidden.reserve((T + 1) * B * U)
        TimeMajor.transpose(x, into: xT, batch: B, steps: T, width: F, reversed: goBackwards)
        if stateful, stateStore.load(hidden: h, cell: cell, rows: shardRows ?? ShardRows(offset: 0, batchSize: B), batch: B, units: U) {
            return false
        }
        h.update(repeating: 0, count: B * U)
        cell?.update(repeating: 0, count: B * U)
        return true
    }

    /// Ends a pass: keeps the final state (and `cell`) when stateful, returns the output.
    func end(batch: Int, cell: UnsafePointer<Float>? = nil) -> UnsafePointer<Float> {
        let (T, B, U) = (timesteps, batch, units)
        let h = hidden.pointer
        let y = output.reserve(B * (returnSequences ? T : 1) * U)
        TimeMajor.output(hidden: h, into: y, batch: B, steps: T, units: U, sequences: returnSequences)
        if stateful {
            stateStore.keep(
                hidden: h + T * B * U, cell: cell, rows: shardRows ?? ShardRows(offset: 0, batchSize: B),
                batch: B, units: U)
        }
        return UnsafePointer(y)
    }

    /// Starts a backward pass: dL/dh zeroed, returned, and recurrent_kernelᵀ `(width, units)`.
    func beginBackward(batch: Int, weights: RecurrentWeights, width: Int) -> (UnsafeMutablePointer<Float>, UnsafePointer<Float>) {
        let dh = hiddenGradient.reserve(batch * units)
        dh.update(repeating: 0, count: batch * units)
        let transposed = transposedRecurrent.reserve(width * units)
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
        let dxT = inputGradientByTime.reserve(T * B * F)
        weights.inputGradient(dInput, rows: T * B, features: F, width: width, into: dxT)
        if let inputMask { RecurrentDropout.apply(inputMask, to: dxT, steps: T, rows: B, width: F) }
        let dx = inputGradient.reserve(B * T * F)
        TimeMajor.untranspose(dxT, into: dx, batch: B, steps: T, width: F, reversed: goBackwards)
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
