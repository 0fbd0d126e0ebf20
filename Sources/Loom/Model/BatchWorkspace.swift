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

    init(firstLayer: any Layer, inputCount: Int, outputCount: Int, checksBatches: Bool) {
        self.firstLayer = firstLayer
        self.checksBatches = checksBatches
        self.inputCount = inputCount
        self.outputCount = outputCount
    }

    func load(_ dataset: any Dataset, rows: ArraySlice<Int>, targets withTargets: Bool = true) throws {
        reserve(rows: rows.count)
        try load(dataset, rows: rows, at: 0, targets: withTargets)
    }

    /// Sizes the buffers for `count` rows (before workers load shards into them).
    func reserve(rows count: Int) {
        inputs.reserve(count * inputCount)
        targets.reserve(count * outputCount)
    }

    /// Reads `rows` into the buffers from row `offset` on (already reserved).
    func load(_ dataset: any Dataset, rows: ArraySlice<Int>, at offset: Int, targets withTargets: Bool = true) throws {
        try dataset.read(
            rows: rows, inputs: inputs.pointer + offset * inputCount,
            targets: withTargets ? targets.pointer + offset * outputCount : nil)
        if checksBatches {
            try firstLayer.checkInput(inputs.pointer + offset * inputCount, rows: rows)
        }
    }
}
