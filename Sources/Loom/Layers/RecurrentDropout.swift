/// Keras's `dropout` and `recurrent_dropout` of a recurrent layer, while training.
///
/// Each forward pass draws one input mask `(batch, features)` and one state mask
/// `(batch, units)`, values in {0, 1/(1 − rate)}, and uses them at every timestep (Keras draws
/// them once per sequence, shared by the gates): the inputs become `x_t ⊙ m` and the state fed
/// to the recurrent product `h_{t−1} ⊙ r`. At inference both are off.
final class RecurrentDropout {
    let inputRate: Float
    let recurrentRate: Float
    private var generator = SeededGenerator(seed: 0)
    private let inputMaskBuffer = FloatBuffer()  // (B, F)
    private let recurrentMaskBuffer = FloatBuffer()  // (B, U)
    private let scratch = FloatBuffer()
    /// The masks of the current pass, or nil where that dropout is off.
    private(set) var inputMask: UnsafePointer<Float>?
    private(set) var recurrentMask: UnsafePointer<Float>?

    init(inputRate: Float, recurrentRate: Float) {
        self.inputRate = inputRate
        self.recurrentRate = recurrentRate
    }

    /// Throws unless both rates are in [0, 1).
    func check(layer: String) throws {
        for (name, rate) in [("dropout", inputRate), ("recurrentDropout", recurrentRate)] where !(0..<1).contains(rate) {
            throw LoomError.invalidArgument("\(layer): \(name) must be in [0, 1), got \(rate)")
        }
    }

    func seed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// The mask generator's state (see `SeededGenerator.state`).
    var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) ?? generator }
    }

    /// A copy for a replica: the same rates, its own masks and generator.
    func replica() -> RecurrentDropout {
        let copy = RecurrentDropout(inputRate: inputRate, recurrentRate: recurrentRate)
        copy.generator = SeededGenerator(seed: generator.next())
        return copy
    }

    /// Draws the masks for a pass of `batch` rows (none when not training).
    func begin(batch: Int, features: Int, units: Int, training: Bool) {
        inputMask = training && inputRate > 0 ? draw(inputMaskBuffer, count: batch * features, rate: inputRate) : nil
        recurrentMask = training && recurrentRate > 0 ? draw(recurrentMaskBuffer, count: batch * units, rate: recurrentRate) : nil
    }

    /// Starts a pass of the layer reading `sequence` (its inputs transposed by
    /// `RecurrentSequence.begin`): draws the masks in the pass's row order, applies the input
    /// mask to the time-major inputs, and returns the buffer for the states fed to the
    /// recurrent product, `(T, B, units)` (nil without recurrent dropout: the states themselves).
    func begin(
        _ sequence: RecurrentSequence, batch: Int, units: Int, training: Bool, maskedStates: FloatBuffer
    ) -> UnsafeMutablePointer<Float>? {
        begin(batch: batch, features: sequence.features, units: units, training: training)
        if let order = sequence.rowOrder { reorder(order, features: sequence.features, units: units) }
        if let m = inputMask {
            RecurrentDropout.apply(m, to: sequence.inputByTime.pointer, steps: sequence.timesteps, rows: batch, width: sequence.features)
        }
        return recurrentMask == nil ? nil : maskedStates.reserveDiscarding(sequence.timesteps * batch * units)
    }

    /// Writes step `t`'s states fed to the recurrent product, h_{t−1} ⊙ r, for its `rows`
    /// active rows, from the states `h` `(T + 1, batch, units)` into `states` `(T, batch,
    /// units)`; nothing without recurrent dropout.
    func maskStates(_ h: UnsafePointer<Float>, into states: UnsafeMutablePointer<Float>, step t: Int, rows: Int, batch: Int, units: Int) {
        guard let r = recurrentMask else { return }
        let offset = t * batch * units
        for i in 0..<(rows * units) { states[offset + i] = h[offset + i] * r[i] }
    }

    /// Puts the masks' rows in a pass's `order` (row i from batch row `order[i]`): drawn in
    /// the batch's order, they are read in the order of a pass that skips the padding.
    func reorder(_ order: [Int], features: Int, units: Int) {
        for (mask, buffer, width) in [(inputMask, inputMaskBuffer, features), (recurrentMask, recurrentMaskBuffer, units)] where mask != nil
        {
            let copy = scratch.reserveDiscarding(order.count * width)
            copy.update(from: buffer.pointer, count: order.count * width)
            for (i, b) in order.enumerated() { (buffer.pointer + i * width).update(from: copy + b * width, count: width) }
        }
    }

    private func draw(_ buffer: FloatBuffer, count: Int, rate: Float) -> UnsafePointer<Float> {
        let mask = buffer.reserveDiscarding(count)
        let keep = 1 / (1 - rate)
        for i in 0..<count { mask[i] = generator.uniform() < Double(rate) ? 0 : keep }
        return UnsafePointer(mask)
    }

    /// Multiplies each of the `steps` time-major slices `(rows, width)` of `values` by `mask (rows, width)`.
    static func apply(_ mask: UnsafePointer<Float>, to values: UnsafeMutablePointer<Float>, steps: Int, rows: Int, width: Int) {
        let count = rows * width
        for t in 0..<steps {
            let slice = values + t * count
            for i in 0..<count { slice[i] *= mask[i] }
        }
    }
}
