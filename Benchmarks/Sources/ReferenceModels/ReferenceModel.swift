import Loom

/// The reference models Loom is measured on, with synthetic data from a fixed seed, so the
/// Swift runner, the ordo-one suite and the Keras/PyTorch scripts (Benchmarks/compare) all
/// train the same thing: MSE loss, Adam, one output.
public struct ReferenceModel: Sendable {
    public enum Kind: Sendable {
        /// LSTM(units) -> Dense(1).
        case lstm
        /// Bidirectional(LSTM(units), concat) -> Dense(1).
        case bidirectional
        /// TimeDistributed Conv2D(8, 3x3, relu), MaxPooling2D(2x2), Flatten -> LSTM(units) -> Dense(1).
        case cnnLSTM
    }

    public let id: String
    public let kind: Kind
    /// Per-sample input shape.
    public let inputShape: [Int]
    public let units: Int
    public let batchSize: Int

    /// The seed's vanilla model: LSTM(10) on (10, 25) -> Dense(1), batch 32.
    public static let vanilla = ReferenceModel(id: "vanilla", kind: .lstm, inputShape: [10, 25], units: 10, batchSize: 32)
    /// Large batch: LSTM(128) on (32, 64) -> Dense(1), batch 512.
    public static let lstm128 = ReferenceModel(id: "lstm128", kind: .lstm, inputShape: [32, 64], units: 128, batchSize: 512)
    /// Bidirectional(LSTM(64)) on (30, 16) -> Dense(1), batch 128.
    public static let bidirectional = ReferenceModel(
        id: "bidirectional", kind: .bidirectional, inputShape: [30, 16], units: 64, batchSize: 128)
    /// CNN-LSTM on (8, 16, 16, 1) image sequences, LSTM(32), batch 64.
    public static let cnnLSTM = ReferenceModel(id: "cnnlstm", kind: .cnnLSTM, inputShape: [8, 16, 16, 1], units: 32, batchSize: 64)
    public static let all = [vanilla, lstm128, bidirectional, cnnLSTM]

    public static func named(_ id: String) -> ReferenceModel? { all.first { $0.id == id } }

    /// A compiled model (Adam, MSE) with the seed's weights.
    public func makeModel() throws -> Sequential {
        let model: Sequential
        switch kind {
        case .lstm:
            model = Sequential(seed: 1) { Input(shape: inputShape); LSTM(units); Dense(1) }
        case .bidirectional:
            model = Sequential(seed: 1) { Input(shape: inputShape); Bidirectional(LSTM(units)); Dense(1) }
        case .cnnLSTM:
            model = Sequential(seed: 1) {
                Input(shape: inputShape)
                TimeDistributed(Conv2D(8, kernelSize: (3, 3), activation: .relu))
                TimeDistributed(MaxPooling2D(poolSize: (2, 2)))
                TimeDistributed(Flatten())
                LSTM(units)
                Dense(1)
            }
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        return model
    }

    /// `samples` inputs uniform in [-1, 1) and targets from a fixed seed.
    public func makeData(samples: Int) throws -> (x: Tensor, y: Tensor) {
        var generator = SeededGenerator(seed: 42)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(2 * generator.uniform() - 1) } }
        return (try Tensor(shape: [samples] + inputShape, scalars: values(samples * Shape.count(inputShape))),
                try Tensor(shape: [samples, 1], scalars: values(samples)))
    }

    /// Forward flops of one sample (multiply-adds count 2): an LSTM over T steps costs
    /// 2·T·4U·(F + U), twice for Bidirectional; a 3x3 convolution to 8 filters costs
    /// 2·outH·outW·9·C·8 per frame. Dense heads and pooling are left out. Training counts as 3x.
    public var forwardFlopsPerSample: Double {
        func lstm(_ steps: Int, _ features: Int) -> Double { 2 * Double(steps * 4 * units * (features + units)) }
        switch kind {
        case .lstm: return lstm(inputShape[0], inputShape[1])
        case .bidirectional: return 2 * lstm(inputShape[0], inputShape[1])
        case .cnnLSTM:
            let (frames, height, width, channels) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
            let conv = 2 * Double((height - 2) * (width - 2) * 9 * channels * 8)
            let features = ((height - 2) / 2) * ((width - 2) / 2) * 8
            return Double(frames) * conv + lstm(frames, features)
        }
    }
}
