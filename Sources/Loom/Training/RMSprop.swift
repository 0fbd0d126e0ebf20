/// RMSprop as in Keras 3 (rho 0.9, epsilon 1e-7, no momentum, not centred by default):
///
///     s = ρ·s + (1 − ρ)·g²;   Δ = lr·g / √(s + ε);   w −= Δ     (momentum μ: u = μ·u + Δ; w −= u)
public final class RMSprop: Optimizer {
    public var name: String { "rmsprop" }
    public var learningRate: Float
    public let rho: Float
    public let momentum: Float
    public let epsilon: Float
    private let meanSquares = FloatBuffer()
    private let momenta = FloatBuffer()

    public init(learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var stateBuffers: [FloatBuffer] { [meanSquares, momenta] }

    public func makeCopy() -> any Optimizer {
        RMSprop(learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon)
    }

    public func prepare(parameterCount: Int) {
        meanSquares.reserve(parameterCount)
        meanSquares.zero()
        momenta.reserve(parameterCount)
        momenta.zero()
    }

    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) {
        let start = range.lowerBound
        Kernels.table.rmsprop(w + start, g + start, meanSquares.pointer + start, momentum == 0 ? nil : momenta.pointer + start,
                              range.count, learningRate, rho, momentum, epsilon)
    }
}
