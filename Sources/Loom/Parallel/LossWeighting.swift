/// What weighs a batch's loss rows besides an output mask: the sample weights, and the shapes
/// that map a loss row (one row of the output's last axis) to its mask step and its weight.
///
/// A sample's output `(steps, ..., width)` has `outputCount / width` loss rows; its mask
/// `(steps)` and its weights `(weightsPerSample)`, 1 or `steps`, each cover equal runs of them.
struct LossWeighting {
    /// `(rows, weightsPerSample)` from the first row of the shard (or batch), or nil.
    var sampleWeights: UnsafePointer<Float>?
    /// 1 (a weight a sample) or the output's steps (a weight a timestep).
    var weightsPerSample: Int
    /// The output's first axis when it has two or more (the width of an output mask), else 1.
    var outputSteps: Int
    /// Whether the loss is weighted: the output carries a mask or there are sample weights.
    /// The same on every shard and rank, so all divide alike (`StepTotals`).
    var isWeighted: Bool

    /// The same weighting from row `offset` on.
    func fromRow(_ offset: Int) -> LossWeighting {
        var shifted = self
        shifted.sampleWeights = sampleWeights.map { $0 + offset * weightsPerSample }
        return shifted
    }
}
