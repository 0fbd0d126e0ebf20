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
    /// The target values of a sample: `outputCount`, or one class index a row of the output's
    /// last axis for a loss that takes them (`classes` then counts the classes).
    let targetCount: Int
    let classes: Int?
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
    /// The inputs' timesteps when the batch's inputs have a mask (the dataset's lengths, or a
    /// chunk's padded end), else 0.
    private(set) var maskSteps: Int
    private let lengths: SequenceLengths?

    init(
        firstLayer: any Layer, inputCount: Int, outputCount: Int, checksBatches: Bool, weightsPerSample: Int = 0,
        classWeights: [Int: Float]? = nil, lengths: SequenceLengths? = nil, classes: Int? = nil
    ) {
        self.classes = classes
        targetCount = classes.map { outputCount / $0 } ?? outputCount
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

    /// Reads the batch `rows` whole, or, given `own` (this process's rows of it under
    /// `mpirun`), only those, each at its place in the batch.
    func load(_ dataset: any Dataset, rows: ArraySlice<Int>, own: Range<Int>?, targets withTargets: Bool = true) throws {
        guard let own else { return try load(dataset, rows: rows, targets: withTargets) }
        reserve(rows: rows.count)
        try load(dataset, rows: rows[(rows.startIndex + own.lowerBound)...].prefix(own.count), at: own.lowerBound, targets: withTargets)
    }

    /// Sizes the buffers for `count` rows (before workers load shards into them).
    func reserve(rows count: Int) {
        inputs.reserveDiscarding(count * inputCount)
        targets.reserveDiscarding(count * targetCount)
        sampleWeights.reserveDiscarding(count * weightsPerSample)
        inputMask.reserveDiscarding(count * maskSteps)
    }

    /// The inputs' mask from row `offset` on, or nil without one.
    func inputMask(fromRow offset: Int) -> UnsafePointer<Float>? {
        maskSteps > 0 ? UnsafePointer(inputMask.pointer + offset * maskSteps) : nil
    }

    /// Reads `rows` into the buffers from row `offset` on (already reserved).
    func load(_ dataset: any Dataset, rows: ArraySlice<Int>, at offset: Int, targets withTargets: Bool = true) throws {
        try dataset.read(
            rows: rows, inputs: inputs.pointer + offset * inputCount,
            targets: withTargets ? targets.pointer + offset * targetCount : nil)
        if checksBatches {
            try firstLayer.checkInput(inputs.pointer + offset * inputCount, rows: rows)
        }
        lengths?.writeMask(rows: rows, into: inputMask.pointer + offset * maskSteps)
        if withTargets, let classes { try checkClassIndices(from: offset, rows: rows, classes: classes) }
        guard withTargets, weightsPerSample > 0 else { return }
        let weights = sampleWeights.pointer + offset * weightsPerSample
        if let classWeights {
            SampleWeights.fromClasses(
                classWeights, targets: targets.pointer + offset * targetCount, rows: rows.count, width: classes == nil ? outputCount : 1,
                into: weights)
        } else {
            try dataset.readSampleWeights(rows: rows, into: weights)
            if checksBatches { try SampleWeights.check(weights, rows: rows, perSample: weightsPerSample) }
        }
    }

    /// Throws, naming the sample, for a target of `rows` (read from row `offset` on) that is
    /// not a class index in 0..<`classes`.
    private func checkClassIndices(from offset: Int, rows: ArraySlice<Int>, classes: Int) throws {
        if let bad = Indices.firstInvalid(targets.pointer + offset * targetCount, rows: rows, width: targetCount, limit: classes) {
            throw LoomError.invalidArgument(
                "y holds \(bad.value) at sample \(bad.row), position \(bad.position); sparse_categorical_crossentropy takes "
                    + "class indices in 0..<\(classes) (the output's last axis)")
        }
    }

    /// Fills this workspace, whose samples are `steps` timesteps long, with the timesteps
    /// `range` of the first `rows` rows of `batch`, whose samples are `timesteps` long: the
    /// inputs and targets (a sequence output's), the weights of the steps (or of the samples)
    /// and the mask, cut along time. A range shorter than `steps` ends with masked steps whose
    /// inputs are `fill` (what the model's first layer reads as padding) and whose targets
    /// and weights are 0.
    func loadSteps(_ range: Range<Int>, of batch: BatchWorkspace, timesteps: Int, rows: Int, steps: Int, fill: Float) {
        reserve(rows: rows)
        let padded = range.count < steps
        maskSteps = batch.maskSteps > 0 || padded ? steps : 0
        inputMask.reserveDiscarding(rows * maskSteps)
        func cut(
            _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, sourceWidth: Int, fill: Float
        ) {
            let stepWidth = sourceWidth / timesteps
            for row in 0..<rows {
                let from = source + row * sourceWidth + range.lowerBound * stepWidth, to = target + row * steps * stepWidth
                to.update(from: from, count: range.count * stepWidth)
                (to + range.count * stepWidth).update(repeating: fill, count: (steps - range.count) * stepWidth)
            }
        }
        cut(batch.inputs.pointer, inputs.pointer, sourceWidth: batch.inputCount, fill: fill)
        cut(batch.targets.pointer, targets.pointer, sourceWidth: batch.targetCount, fill: 0)
        if batch.weightsPerSample == timesteps {
            cut(batch.sampleWeights.pointer, sampleWeights.pointer, sourceWidth: timesteps, fill: 0)
        } else if batch.weightsPerSample > 0 {
            sampleWeights.pointer.update(from: batch.sampleWeights.pointer, count: rows * batch.weightsPerSample)
        }
        guard maskSteps > 0 else { return }
        if batch.maskSteps > 0 {
            cut(batch.inputMask.pointer, inputMask.pointer, sourceWidth: timesteps, fill: 0)
        } else {
            for row in 0..<rows {
                let line = inputMask.pointer + row * steps
                line.update(repeating: 1, count: range.count)
                (line + range.count).update(repeating: 0, count: steps - range.count)
            }
        }
    }
}
