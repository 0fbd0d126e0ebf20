/// The input and target buffers of one batch, reused across steps.
final class BatchWorkspace {
    /// The model's first layer, which checks every batch read when `checksBatches`
    /// (`Layer.checkInput`).
    let firstLayer: any Layer
    /// Whether each batch is checked as it is read: for a dataset that streams its rows (data
    /// in memory is checked whole before the first step, `Dataset.withAllInputs`).
    let checksBatches: Bool
    let inputCount: Int
    let outputCount: Int
    let inputs = FloatBuffer()
    let targets = FloatBuffer()
    /// The batch's loss weights `(rows, weightsPerSample)`: the dataset's sample weights, or
    /// those `classWeights` give the targets.
    let sampleWeights = FloatBuffer()
    /// 0 (no weights), 1 (a weight a sample) or the output's timesteps (a weight a step).
    let weightsPerSample: Int
    /// Keras's `class_weight`, turned into a weight a sample as targets are read.
    let classWeights: [Int: Float]?
    /// The inputs' mask `(rows, maskSteps)` from the dataset's `sequenceLengths`.
    let inputMask = FloatBuffer()
    /// The inputs' timesteps when the dataset gives them a mask, else 0.
    let maskSteps: Int
    private let lengths: SequenceLengths?

    init(
        firstLayer: any Layer, inputCount: Int, outputCount: Int, checksBatches: Bool, weightsPerSample: Int = 0,
        classWeights: [Int: Float]? = nil, lengths: SequenceLengths? = nil
    ) {
        self.lengths = lengths
        maskSteps = lengths?.timesteps ?? 0
        self.firstLayer = firstLayer
        self.checksBatches = checksBatches
        self.inputCount = inputCount
        self.outputCount = outputCount
        self.weightsPerSample = weightsPerSample
        self.classWeights = classWeights
    }

    func load(_ dataset: any Dataset, rows: ArraySlice<Int>, targets withTargets: Bool = true) throws {
        reserve(rows: rows.count)
        try load(dataset, rows: rows, at: 0, targets: withTargets)
    }

    /// Sizes the buffers for `count` rows (before workers load shards into them).
    func reserve(rows count: Int) {
        inputs.reserve(count * inputCount)
        targets.reserve(count * outputCount)
        sampleWeights.reserve(count * weightsPerSample)
        inputMask.reserve(count * maskSteps)
    }

    /// The inputs' mask from row `offset` on, or nil without one.
    func inputMask(fromRow offset: Int) -> UnsafePointer<Float>? {
        maskSteps > 0 ? UnsafePointer(inputMask.pointer + offset * maskSteps) : nil
    }

    /// Reads `rows` into the buffers from row `offset` on (already reserved).
    func load(_ dataset: any Dataset, rows: ArraySlice<Int>, at offset: Int, targets withTargets: Bool = true) throws {
        try dataset.read(
            rows: rows, inputs: inputs.pointer + offset * inputCount,
            targets: withTargets ? targets.pointer + offset * outputCount : nil)
        if checksBatches {
            try firstLayer.checkInput(inputs.pointer + offset * inputCount, rows: rows)
        }
        lengths?.writeMask(rows: rows, into: inputMask.pointer + offset * maskSteps)
        guard withTargets, weightsPerSample > 0 else { return }
        let weights = sampleWeights.pointer + offset * weightsPerSample
        if let classWeights {
            SampleWeights.fromClasses(
                classWeights, targets: targets.pointer + offset * outputCount, rows: rows.count, width: outputCount, into: weights)
        } else {
            try dataset.readSampleWeights(rows: rows, into: weights)
            if checksBatches { try SampleWeights.check(weights, rows: rows, perSample: weightsPerSample) }
        }
    }
}
