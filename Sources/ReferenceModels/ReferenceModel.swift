import Loom

/// The seven reference models Loom is measured on (B1–B7), with synthetic data from a fixed
/// seed, so `loom bench --reference`, the Benchmarks runners and the Keras/PyTorch scripts
/// (Benchmarks/compare/models.py) all train the same thing: Adam, one output per sample (per
/// step for the encoder-decoder B4), MSE except B4's binary cross-entropy. B8, padded sequences of
/// different lengths, is measured by `make compare` beside them.
public struct ReferenceModel: Sendable {
    /// "B1" ... "B8".
    public let benchmark: String
    /// The name the comparison scripts use ("vanilla", "lstm128", "seq2seq", ...).
    public let id: String
    /// The architecture: a `ModelPreset` at this model's sizes.
    public let preset: ModelPreset
    /// Per-sample input shape.
    public let inputShape: [Int]
    /// The units of each LSTM.
    public let units: Int
    /// The training batch size (the stateful model's fixed batch).
    public let batchSize: Int
    /// An encoder-decoder's output steps (B4): its targets are `(steps, 1)` of 0 and 1, scored
    /// by binary cross-entropy through a sigmoid; nil for one output a sample, scored by MSE.
    public let outputSteps: Int?
    /// B8: sequences of lengths uniform in this...timesteps, zero-padded after them and masked
    /// by their lengths (`sequenceLengths`); nil for full-length sequences.
    public let shortestLength: Int?

    private init(
        benchmark: String, id: String, preset: ModelPreset, inputShape: [Int], units: Int, batchSize: Int,
        outputSteps: Int? = nil, shortestLength: Int? = nil
    ) {
        self.benchmark = benchmark
        self.id = id
        self.preset = preset
        self.inputShape = inputShape
        self.units = units
        self.batchSize = batchSize
        self.outputSteps = outputSteps
        self.shortestLength = shortestLength
    }

    /// B1, the vanilla model: LSTM(10) on (10, 25) -> Dense(1), batch 32.
    public static let vanilla = ReferenceModel(
        benchmark: "B1", id: "vanilla", preset: .vanilla, inputShape: [10, 25], units: 10, batchSize: 32)
    /// B2, large batch: LSTM(128) on (32, 64) -> Dense(1), batch 512.
    public static let lstm128 = ReferenceModel(
        benchmark: "B2", id: "lstm128", preset: .vanilla, inputShape: [32, 64], units: 128, batchSize: 512)
    /// B3: four stacked LSTM(64) on (20, 16), batch 128.
    public static let stacked = ReferenceModel(
        benchmark: "B3", id: "stacked", preset: .stacked, inputShape: [20, 16], units: 64, batchSize: 128)
    /// B4: encoder-decoder LSTM(64) on (20, 8) to 10 steps of 0/1 targets, batch 128 (the
    /// comparison scripts' "seq2seq").
    public static let encoderDecoder = ReferenceModel(
        benchmark: "B4", id: "seq2seq", preset: .encoderDecoder, inputShape: [20, 8], units: 64, batchSize: 128,
        outputSteps: 10)
    /// B5: Bidirectional(LSTM(64)) on (30, 16) -> Dense(1), batch 128.
    public static let bidirectional = ReferenceModel(
        benchmark: "B5", id: "bidirectional", preset: .bidirectional, inputShape: [30, 16], units: 64, batchSize: 128)
    /// B6: CNN-LSTM on (8, 16, 16, 1) image sequences, LSTM(32), batch 64.
    public static let cnnLSTM = ReferenceModel(
        benchmark: "B6", id: "cnnlstm", preset: .cnnLSTM, inputShape: [8, 16, 16, 1], units: 32, batchSize: 64)
    /// B7: stateful LSTM(32) on (10, 25) -> Dense(1), batch 32: batches in order, state reset
    /// at each epoch.
    public static let stateful = ReferenceModel(
        benchmark: "B7", id: "stateful", preset: .stateful, inputShape: [10, 25], units: 32, batchSize: 32)
    /// B8: LSTM(128) on 64 steps of 32 features, lengths uniform in 8...64, padded and masked, batch 128.
    public static let padded = ReferenceModel(
        benchmark: "B8", id: "padded", preset: .vanilla, inputShape: [64, 32], units: 128, batchSize: 128,
        shortestLength: 8)
    /// B1–B7, in order.
    public static let all = [vanilla, lstm128, stacked, encoderDecoder, bidirectional, cnnLSTM, stateful]

    /// A model by benchmark ("B3", "b3") or script name ("stacked"), B1–B8.
    public static func named(_ name: String) -> ReferenceModel? {
        (all + [padded]).first { $0.id == name || $0.benchmark == name.uppercased() }
    }

    /// The same model trained at another batch size.
    public func withBatchSize(_ batch: Int) -> ReferenceModel {
        ReferenceModel(
            benchmark: benchmark, id: id, preset: preset, inputShape: inputShape, units: units, batchSize: batch,
            outputSteps: outputSteps, shortestLength: shortestLength)
    }

    /// Whether batches keep their order and state carries between them (B7).
    public var isStateful: Bool { preset == .stateful }

    /// The batch size predictions run at: 1024, except the stateful model's fixed batch.
    public var predictBatchSize: Int { isStateful ? batchSize : 1024 }

    /// Per-sample target shape.
    public var targetShape: [Int] { outputSteps.map { [$0, 1] } ?? [1] }

    /// A compiled model (Adam; MSE, or binary cross-entropy for an encoder-decoder's 0/1
    /// steps) with the seed's weights, built from its `ModelPreset`.
    public func makeModel() throws -> Sequential {
        let binaryTargets = outputSteps != nil
        let model = try preset.makeModel(
            inputShape: inputShape, targetShape: targetShape, units: units, batchSize: batchSize,
            seed: 1, outputActivation: binaryTargets ? .sigmoid : .linear)
        try model.compile(optimizer: Adam(), loss: binaryTargets ? .binaryCrossentropy : .meanSquaredError)
        return model
    }

    /// `samples` inputs uniform in [-1, 1) and targets from a fixed seed (an encoder-decoder's:
    /// 1 where the uniform draw is positive, else 0).
    public func makeData(samples: Int) throws -> (x: Tensor, y: Tensor) {
        var generator = SeededGenerator(seed: 42)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(2 * generator.uniform() - 1) } }
        let x = try Tensor(shape: [samples] + inputShape, scalars: values(samples * Shape.count(inputShape)))
        var targets = values(samples * Shape.count(targetShape))
        if outputSteps != nil { targets = targets.map { $0 > 0 ? 1 : 0 } }
        guard let lengths = try sequenceLengths(samples: samples) else {
            return (x, try Tensor(shape: [samples] + targetShape, scalars: targets))
        }
        var padded = x.scalars
        let (steps, features) = (inputShape[0], inputShape[1])
        for (sample, length) in lengths.lengths.enumerated() {
            let end = (sample + 1) * steps * features
            padded.replaceSubrange((end - (steps - length) * features)..<end, with: repeatElement(0, count: (steps - length) * features))
        }
        return (try Tensor(shape: x.shape, scalars: padded), try Tensor(shape: [samples] + targetShape, scalars: targets))
    }

    /// B8's lengths, uniform in its shortest...timesteps from a fixed seed (padding after
    /// them); nil for the other models.
    public func sequenceLengths(samples: Int) throws -> SequenceLengths? {
        guard let shortest = shortestLength else { return nil }
        var generator = SeededGenerator(seed: 43)
        let span = inputShape[0] - shortest + 1
        let lengths = (0..<samples).map { _ in shortest + Int(generator.next() % UInt64(span)) }
        return try SequenceLengths(lengths: lengths, timesteps: inputShape[0], padding: .post)
    }

    /// One training epoch over `x`, `y`, as the comparison scripts train: shuffled, except the
    /// stateful model (in order, state reset at the epoch's start).
    /// B8 trains on its lengths' mask unless `masked` is false (every row at full length).
    /// Across processes, `exchangeBucketFloats` as `Parallelism`'s.
    public func fitEpoch(
        _ model: Sequential, x: Tensor, y: Tensor, workers: Int, processGroup: (any ProcessGroup)? = nil, masked: Bool = true,
        exchangeBucketFloats: Int = Parallelism.defaultExchangeBucketFloats
    ) throws {
        let lengths = masked ? try sequenceLengths(samples: x.sampleCount) : nil
        try model.fit(
            dataset: InMemoryDataset(x: x, y: y, sequenceLengths: lengths), epochs: 1, batchSize: batchSize,
            shuffle: !isStateful, verbose: 0, resetStatesEachEpoch: isStateful,
            parallelism: Parallelism(workers: workers, processGroup: processGroup, exchangeBucketFloats: exchangeBucketFloats))
    }

    /// Training steps a benchmark times by default: fewer for the large batches, so each run
    /// takes about the same time (`Benchmarks/compare/models.py` keeps the same rule).
    public var defaultSteps: Int { batchSize >= 256 ? 8 : batchSize >= 64 ? 40 : 200 }

    /// Predictions over `x` at `predictBatchSize` (the stateful model from a reset state).
    public func predict(_ model: Sequential, x: Tensor, workers: Int, masked: Bool = true) throws -> Tensor {
        if isStateful { model.resetStates() }
        let lengths = masked ? try sequenceLengths(samples: x.sampleCount) : nil
        return try model.predict(
            dataset: InMemoryDataset(x: x, sequenceLengths: lengths), batchSize: predictBatchSize,
            parallelism: Parallelism(workers: workers))
    }

    /// Forward flops of one sample (multiply-adds count 2): an LSTM over T steps of F
    /// features costs 2·T·4U·(F + U) (twice for Bidirectional; stacked: the first layer on
    /// F, three more on U; encoder-decoder: the encoder over the input, the decoder over its steps of
    /// U features); a 3x3 convolution to 8 filters costs 2·outH·outW·9·C·8 per frame. Dense
    /// heads, RepeatVector and pooling are left out; B8 counts its mean valid steps (the work
    /// packed sequences do). Training counts as 3x.
    public var forwardFlopsPerSample: Double {
        func lstm(_ steps: Int, _ features: Int) -> Double { 2 * Double(steps * 4 * units * (features + units)) }
        switch preset {
        case .stacked: return lstm(inputShape[0], inputShape[1]) + 3 * lstm(inputShape[0], units)
        case .encoderDecoder: return lstm(inputShape[0], inputShape[1]) + lstm(outputSteps ?? 1, units)
        case .bidirectional: return 2 * lstm(inputShape[0], inputShape[1])
        case .cnnLSTM:
            let (frames, height, width, channels) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
            let conv = 2 * Double((height - 2) * (width - 2) * 9 * channels * 8)
            let features = ((height - 2) / 2) * ((width - 2) / 2) * 8
            return Double(frames) * conv + lstm(frames, features)
        case .vanilla, .manyToOne, .stateful, .oneToOne, .manyToMany, .oneToMany:
            let full = lstm(inputShape[0], inputShape[1])
            guard let shortest = shortestLength else { return full }
            return full * Double(shortest + inputShape[0]) / Double(2 * inputShape[0])
        }
    }
}
