/// Keras's `Bidirectional(layer, mergeMode:)` over an `LSTM`, `GRU` or `SimpleRNN`.
///
/// A forward copy reads the sequence as given; a backward copy reads it reversed
/// (`goBackwards`). With `returnSequences`, the backward copy's output sequence is flipped
/// back in time, so step t of both describes input step t, before the two are merged:
///
///     concat: [y_f, y_b] on the last axis (2·units)   sum: y_f + y_b
///     mul:    y_f ⊙ y_b                               ave: (y_f + y_b) / 2
///
/// Weights, in Keras's order: the forward layer's (kernel, recurrent kernel, bias), then the
/// backward layer's. Stateful works in both directions (each copy carries its own state).
public final class Bidirectional: RandomizedLayer, StateCarryingLayer, MaskAwareLayer {
    /// How the two directions' outputs combine, Keras's `merge_mode` (default "concat").
    public enum MergeMode: String, Sendable, CaseIterable {
        /// `concat`: side by side on the last axis (2·units); `sum`, `mul`, `ave`: elementwise sum, product, mean.
        case concat, sum, mul, ave
    }

    /// Empty until the model names it ("bidirectional", ...); the inner layers become "forward_x" and "backward_x".
    public var name: String
    /// "Bidirectional", Keras's class name.
    public var typeName: String { "Bidirectional" }
    /// How the two directions' outputs combine (default `.concat`).
    public let mergeMode: MergeMode
    /// The layer reading forwards, and its copy reading backwards.
    public let forwardLayer: any RecurrentLayer
    /// The copy reading backwards (`layer.reversedCopy()`); its weights follow the forward layer's.
    public let backwardLayer: any RecurrentLayer
    /// The wrapped layer's `stateful`.
    public var isStateful: Bool { forwardLayer.stateful }

    private var timesteps = 1
    private var inputWidth = 0
    private var units: Int { forwardLayer.units }
    private let output = FloatBuffer()
    private let forwardGradient = FloatBuffer()
    private let backwardGradient = FloatBuffer()
    private let mergedBackwardGradient = FloatBuffer()
    private let inputGradient = FloatBuffer()
    private var forwardOutput: UnsafePointer<Float>?
    private var backwardOutput: UnsafePointer<Float>?
    private let reversedBackward = FloatBuffer()

    /// - Parameters:
    ///   - layer: the recurrent layer; its backward copy gets the opposite `goBackwards`.
    ///   - mergeMode: how the two outputs combine (default concat, as Keras).
    public convenience init(_ layer: any RecurrentLayer, mergeMode: MergeMode = .concat, name: String = "") {
        self.init(forward: layer, backward: layer.reversedCopy(), mergeMode: mergeMode, name: name)
    }

    private init(forward: any RecurrentLayer, backward: any RecurrentLayer, mergeMode: MergeMode, name: String) {
        forwardLayer = forward
        backwardLayer = backward
        // Keras's rule: masked steps of a returned sequence are zeros in both directions.
        forward.zeroOutputForMask = forward.returnSequences
        backward.zeroOutputForMask = backward.returnSequences
        self.mergeMode = mergeMode
        self.name = name
    }

    /// Builds and names both directions on `(timesteps, features)`; returns the inner output shape, its last axis
    /// doubled for `.concat`.
    public func build(inputShape: [Int]) throws -> [Int] {
        let inner = try forwardLayer.build(inputShape: inputShape)
        _ = try backwardLayer.build(inputShape: inputShape)
        // Keras's names: forward_lstm, backward_lstm (forward_gru, ...).
        let given = forwardLayer.name.isEmpty ? Sequential.snakeCase(forwardLayer.typeName) : forwardLayer.name
        let innerName = given.hasPrefix("forward_") ? String(given.dropFirst("forward_".count)) : given
        forwardLayer.name = "forward_\(innerName)"
        backwardLayer.name = "backward_\(innerName)"
        timesteps = forwardLayer.returnSequences ? inputShape[0] : 1
        inputWidth = Shape.count(inputShape)
        var shape = inner
        if mergeMode == .concat { shape[shape.count - 1] *= 2 }
        return shape
    }

    /// The forward layer's parameters, then the backward layer's.
    public var parameterSpecs: [ParameterSpec] { forwardLayer.parameterSpecs + backwardLayer.parameterSpecs }

    /// Binds the forward layer at the offset and the backward layer right after the forward layer's parameters
    /// (their `GradientProgress` only polls: neither layer's gradients are final before the wrapper's pass ends).
    public func bind(_ binding: ParameterBinding) {
        let progress = binding.progress?.pollingOnly
        forwardLayer.bind(
            ParameterBinding(values: binding.values, gradients: binding.gradients, offset: binding.offset, progress: progress))
        backwardLayer.bind(
            ParameterBinding(
                values: binding.values, gradients: binding.gradients, offset: binding.offset + forwardLayer.parameterCount,
                progress: progress))
    }

    /// Zeroes both directions' carried state.
    public func resetStates() {
        forwardLayer.resetStates()
        backwardLayer.resetStates()
    }

    /// Assigns the rows to both directions.
    public func assign(rows: ShardRows?) {
        forwardLayer.assign(rows: rows)
        backwardLayer.assign(rows: rows)
    }

    func seed(_ seed: UInt64) {
        (forwardLayer as? any RandomizedLayer)?.seed(seed)
        (backwardLayer as? any RandomizedLayer)?.seed(seed &* 0x2545_F491_4F6C_DD1D &+ 1)
    }

    /// The forward layer's words, then the backward layer's.
    var randomState: [UInt64] {
        get { ((forwardLayer as? any RandomizedLayer)?.randomState ?? []) + ((backwardLayer as? any RandomizedLayer)?.randomState ?? []) }
        set {
            let split = (forwardLayer as? any RandomizedLayer)?.randomState.count ?? 0
            if let forward = forwardLayer as? any RandomizedLayer { forward.randomState = Array(newValue.prefix(split)) }
            if let backward = backwardLayer as? any RandomizedLayer { backward.randomState = Array(newValue.dropFirst(split)) }
        }
    }

    var stateStores: [RecurrentStateStore] {
        [forwardLayer, backwardLayer].flatMap { ($0 as? any StateCarryingLayer)?.stateStores ?? [] }
    }

    var keepsLastState: Bool {
        [forwardLayer, backwardLayer].contains { ($0 as? any StateCarryingLayer)?.keepsLastState == true }
    }

    var carriesState: Bool {
        get { (forwardLayer as? any StateCarryingLayer)?.carriesState ?? false }
        set {
            for layer in [forwardLayer, backwardLayer] { (layer as? any StateCarryingLayer)?.carriesState = newValue }
        }
    }

    /// Copies `source (batch, T, U)` to `target` with the time axis reversed (T = 1 copies).
    private func reverseTime(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, batch: Int) {
        let (T, U) = (timesteps, units)
        for b in 0..<batch {
            for t in 0..<T { (target + (b * T + t) * U).update(from: source + (b * T + T - 1 - t) * U, count: U) }
        }
    }

    // MARK: forward: y = merge(y_f, flip(y_b))

    /// Runs both directions, flips the backward output back in time (with `returnSequences`), and merges the two.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        forward(x, mask: nil, batch: batch, training: training).output
    }

    /// A returned sequence keeps the input's mask; a last output has none.
    public func masksOutput(inputMasked: Bool) -> Bool { inputMasked && forwardLayer.returnSequences }

    /// `forward` with both layers skipping the steps `mask` `(batch, timesteps)` marks 0 (each
    /// in its own direction, so padding may be on either side); the output keeps the mask
    /// with `returnSequences`.
    public func forward(
        _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?) {
        let rows = batch * timesteps, U = units
        let yf = forwardLayer.forward(x, mask: mask, batch: batch, training: training).output
        var yb = backwardLayer.forward(x, mask: mask, batch: batch, training: training).output
        if timesteps > 1 {
            let flipped = reversedBackward.reserveDiscarding(rows * U)
            reverseTime(yb, into: flipped, batch: batch)
            yb = UnsafePointer(flipped)
        }
        forwardOutput = yf
        backwardOutput = yb
        let width = mergeMode == .concat ? 2 * U : U
        let y = output.reserveDiscarding(rows * width)
        for r in 0..<rows {
            let f = yf + r * U, b = yb + r * U, out = y + r * width
            switch mergeMode {
            case .concat:
                out.update(from: f, count: U)
                (out + U).update(from: b, count: U)
            case .sum: for j in 0..<U { out[j] = f[j] + b[j] }
            case .mul: for j in 0..<U { out[j] = f[j] * b[j] }
            case .ave: for j in 0..<U { out[j] = (f[j] + b[j]) * 0.5 }
            }
        }
        return (UnsafePointer(y), forwardLayer.returnSequences ? mask : nil)
    }

    // MARK: backward: split dy by the merge, flip the backward half, run both, add the dx's

    /// Splits `dy` by the merge, flips the backward half, backpropagates both; returns the sum of their dx, or nil.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let rows = batch * timesteps, U = units
        let width = mergeMode == .concat ? 2 * U : U
        let dyf = forwardGradient.reserveDiscarding(rows * U)
        let dybMerged = mergedBackwardGradient.reserveDiscarding(rows * U)
        let yf = forwardOutput!, yb = backwardOutput!
        for r in 0..<rows {
            let g = dy + r * width, gf = dyf + r * U, gb = dybMerged + r * U
            for j in 0..<U {
                switch mergeMode {
                case .concat: gf[j] = g[j]; gb[j] = g[U + j]
                case .sum: gf[j] = g[j]; gb[j] = g[j]
                case .mul: gf[j] = g[j] * yb[r * U + j]; gb[j] = g[j] * yf[r * U + j]
                case .ave: gf[j] = 0.5 * g[j]; gb[j] = 0.5 * g[j]
                }
            }
        }
        let dyb = backwardGradient.reserveDiscarding(rows * U)
        if timesteps > 1 { reverseTime(dybMerged, into: dyb, batch: batch) } else { dyb.update(from: dybMerged, count: rows * U) }
        let dxf = forwardLayer.backward(dyf, batch: batch, needsInputGradient: needsInputGradient)
        let dxb = backwardLayer.backward(dyb, batch: batch, needsInputGradient: needsInputGradient)
        guard needsInputGradient, let dxf, let dxb else { return nil }
        let count = batch * inputWidth
        let dx = inputGradient.reserveDiscarding(count)
        for i in 0..<count { dx[i] = dxf[i] + dxb[i] }
        return dx
    }

    /// A copy wrapping replicas of both directions.
    public func makeReplica() -> any Layer {
        let copy = Bidirectional(
            forward: forwardLayer.makeRecurrentReplica(), backward: backwardLayer.makeRecurrentReplica(), mergeMode: mergeMode, name: name)
        copy.timesteps = timesteps
        copy.inputWidth = inputWidth
        return copy
    }
}
