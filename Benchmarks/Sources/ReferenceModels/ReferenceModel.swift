import Loom

/// The reference models Loom is measured on, with synthetic data from a fixed seed, so the
/// Swift runner, the ordo-one suite and the Keras/PyTorch scripts all train the same thing.
public struct ReferenceModel: Sendable {
    public let id: String
    public let timesteps: Int
    public let features: Int
    public let units: Int
    public let batchSize: Int

    /// The seed's vanilla model: LSTM(10) on (10, 25) -> Dense(1), batch 32, MSE, Adam.
    public static let vanilla = ReferenceModel(id: "vanilla", timesteps: 10, features: 25, units: 10, batchSize: 32)
    /// Large batch: LSTM(128) on (32, 64) -> Dense(1), batch 512, MSE, Adam.
    public static let lstm128 = ReferenceModel(id: "lstm128", timesteps: 32, features: 64, units: 128, batchSize: 512)
    public static let all = [vanilla, lstm128]

    public static func named(_ id: String) -> ReferenceModel? { all.first { $0.id == id } }

    /// A compiled model (Adam, MSE) with the seed's weights.
    public func makeModel() throws -> Sequential {
        let model = Sequential(seed: 1) {
            Input(shape: [timesteps, features])
            LSTM(units)
            Dense(1)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        return model
    }

    /// `samples` inputs uniform in [-1, 1) and targets from a fixed seed.
    public func makeData(samples: Int) throws -> (x: Tensor, y: Tensor) {
        var generator = SeededGenerator(seed: 42)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(2 * generator.uniform() - 1) } }
        return (try Tensor(shape: [samples, timesteps, features], scalars: values(samples * timesteps * features)),
                try Tensor(shape: [samples, 1], scalars: values(samples)))
    }

    /// Forward flops of one sample: the input and recurrent GEMMs of every timestep
    /// (2·T·4U·(F + U)) plus the Dense head (2·U). Training counts as 3x this.
    public var forwardFlopsPerSample: Double {
        2 * Double(timesteps * 4 * units * (features + units)) + 2 * Double(units)
    }
}
