/// A training step whose loss or gradient on some shard is NaN or infinite: the engine
/// stops the step before any update and `fit` reports it as `LoomError.diverged`.
struct NonFiniteStep: Error {
    /// The step's number (from 1).
    let step: Int
    /// What was not finite: the loss's value, and the first layer (in model order) and weight
    /// whose gradient holds NaN or Inf.
    let detail: String

    /// A failure found elsewhere (another process), described by `detail`.
    init(step: Int, detail: String) {
        self.step = step
        self.detail = detail
    }

    /// The failure of `replica`'s last backward pass (its buffers of `layout`), or nil when its loss and every
    /// gradient are finite; `firstBad` is the first index of its gradients holding NaN or Inf, if any.
    init?(_ replica: Replica, firstBad: Int?, layout: ParameterLayout, step: Int) {
        guard firstBad != nil || !replica.loss.isFinite else { return nil }
        self.step = step
        var parts: [String] = []
        if !replica.loss.isFinite { parts.append("the loss is \(replica.loss)") }
        if let firstBad {
            let variable = layout.variable(containing: firstBad)
            let value = replica.gradients[firstBad], layer = replica.layers[variable.layer].name
            parts.append("the gradient of layer '\(layer)' (\(variable.name)) holds \(value.isNaN ? "NaN" : "\(value)")")
        } else {
            parts.append("every gradient is finite")
        }
        detail = parts.joined(separator: "; ")
    }

    /// The index of the first NaN or infinite value of `values[0..<count]`, or nil. A finite
    /// x gives x · 0 = 0 and any other NaN, so eight lanes at a time sum `x · 0` first and
    /// only a block whose sum is not 0 is searched.
    static func firstNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Int? {
        var block = 0
        while block + 8 <= count {
            let lanes = UnsafeRawPointer(values + block).loadUnaligned(as: SIMD8<Float>.self)
            if (lanes * 0).sum() != 0 { break }
            block += 8
        }
        for k in block..<count where !values[k].isFinite { return k }
        return nil
    }
}
