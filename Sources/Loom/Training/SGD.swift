/// Stochastic gradient descent with optional momentum and Nesterov momentum, as in Keras 3:
///
///     no momentum:  w −= lr·g
///     momentum μ:   v = μ·v − lr·g;  w += v           (nesterov: w += μ·v − lr·g)
public final class SGD: Optimizer {
    public var name: String { "sgd" }
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    private let velocities = FloatBuffer()

    public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    public var stateBuffers: [FloatBuffer] { [velocities] }

    public func makeCopy() -> any Optimizer {
        SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
    }

    public func prepare(parameterCount: Int) {
        velocities.reserve(parameterCount)
        velocities.zero()
    }

    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) {
        let start = range.lowerBound
        Kernels.table.sgd(w + start, g + start, momentum == 0 ? nil : velocities.pointer + start, range.count,
                          learningRate, momentum, nesterov)
    }
}
