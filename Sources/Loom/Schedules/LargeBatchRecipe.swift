/// The large-batch recipe: the learning rate found at a base batch size, scaled to the batch
/// an update takes (by √(B/B₀), as for Adam-like optimizers, or B/B₀, Goyal et al.'s linear
/// rule), reached by a linear warmup over some epochs, then any decay.
///
/// With `warmupGrowsWithBatch` the warmup lasts `warmupEpochs` · B/B₀ epochs (You et al.
/// 2019's linear-epoch gradual warmup, LEGW); else `warmupEpochs`.
public struct LargeBatchRecipe: Sendable {
    /// How the rate grows with the batch.
    public enum Scaling: String, Sendable, CaseIterable {
        /// The base rate at every batch size.
        case none
        /// base · √(B/B₀).
        case sqrt
        /// base · B/B₀.
        case linear
    }

    /// The rate that suits `baseBatchSize`.
    public var baseLearningRate: Float
    /// B₀, the batch the base rate was found at.
    public var baseBatchSize: Int
    /// How the rate grows with the batch.
    public var scaling: Scaling
    /// Epochs of warmup (at the base batch when it grows with the batch); 0: none.
    public var warmupEpochs: Double
    /// Whether the warmup grows with the batch (LEGW).
    public var warmupGrowsWithBatch: Bool

    /// A recipe; refuses a rate, batch or warmup that cannot be used.
    public init(
        baseLearningRate: Float, baseBatchSize: Int, scaling: Scaling, warmupEpochs: Double = 0,
        warmupGrowsWithBatch: Bool = false
    ) throws {
        guard baseLearningRate.isFinite, baseLearningRate > 0 else {
            throw LoomError.invalidArgument("the base learning rate must be a positive finite number, got \(baseLearningRate)")
        }
        guard baseBatchSize >= 1 else { throw LoomError.invalidArgument("the base batch size must be at least 1, got \(baseBatchSize)") }
        guard warmupEpochs.isFinite, warmupEpochs >= 0 else {
            throw LoomError.invalidArgument("the warmup must be a finite number of epochs >= 0, got \(warmupEpochs)")
        }
        self.baseLearningRate = baseLearningRate
        self.baseBatchSize = baseBatchSize
        self.scaling = scaling
        self.warmupEpochs = warmupEpochs
        self.warmupGrowsWithBatch = warmupGrowsWithBatch
    }

    /// The rate for updates of `batchSize` rows.
    public func learningRate(batchSize: Int) -> Float {
        let ratio = Double(batchSize) / Double(baseBatchSize)
        switch scaling {
        case .none: return baseLearningRate
        case .sqrt: return Float(Double(baseLearningRate) * ratio.squareRoot())
        case .linear: return Float(Double(baseLearningRate) * ratio)
        }
    }

    /// The warmup's length in updates, for updates of `batchSize` rows and `stepsPerEpoch`
    /// updates an epoch (rounded to the nearest update); refused beyond 2^53 updates.
    public func warmupSteps(batchSize: Int, stepsPerEpoch: Int) throws -> Int {
        let epochs = warmupGrowsWithBatch ? warmupEpochs * Double(batchSize) / Double(baseBatchSize) : warmupEpochs
        let steps = (epochs * Double(stepsPerEpoch)).rounded()
        guard steps <= 0x1p53 else {
            throw LoomError.invalidArgument("a warmup of \(epochs) epochs of \(stepsPerEpoch) updates is too long")
        }
        return Int(steps)
    }

    /// The schedule for updates of `batchSize` rows: the warmup to the scaled rate, then
    /// `decay` made from that rate (nil: the rate held).
    public func schedule(
        batchSize: Int, stepsPerEpoch: Int, decay: ((Float) throws -> any LearningRateSchedule)? = nil
    ) throws -> any LearningRateSchedule {
        let rate = learningRate(batchSize: batchSize)
        let schedule = LinearWarmup(
            target: rate, warmupSteps: try warmupSteps(batchSize: batchSize, stepsPerEpoch: stepsPerEpoch),
            then: try decay?(rate))
        try schedule.check()
        return schedule
    }
}
