/// The input and target buffers of one batch, reused across steps.
final class BatchWorkspace {
    /// The model's first layer, which checks every batch read from a streaming dataset
    /// (`Layer.checkInput`; data in memory is checked whole before the first step).
    let firstLayer: any Layer
    let inputCount: Int
    let outputCount: Int
    let inputs = FloatBuffer()
    let targets = FloatBuffer()

    init(firstLayer: any Layer, inputCount: Int, outputCount: Int) {
        self.firstLayer = firstLayer
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
        if !(dataset is InMemoryDataset) {
            try firstLayer.checkInput(inputs.pointer + offset * inputCount, rows: rows)
        }
    }
}
