/// Updates a model's flat parameter buffer from its flat gradient buffer, as a Keras 3
/// optimizer: the gradients clipped (`clipping`), the weights decayed (`weightDecay`), then
/// the optimizer's own step, at `learningRate` or the rate its `schedule` gives.
///
/// Optimizers keep their state (momenta, moments) in buffers with the parameters' layout, so
/// an update can be cut into slices of the buffer and run by several workers
/// (`ParameterUpdate` runs the whole sequence). Layer-wise optimizers (Lamb, LARS), whose step
/// of a variable depends on norms over the whole variable, are `LayerwiseOptimizer`s.
public protocol Optimizer: AnyObject {
    /// Keras's name ("adam", "sgd", "rmsprop").
    var name: String { get }
    /// The step size of the next update (Keras's `learning_rate`). With a schedule, the
    /// schedule's rate after the updates taken so far (set by the model: changing it has no
    /// effect, and callbacks that change it are refused).
    var learningRate: Float { get set }
    /// The learning-rate schedule, or nil for a constant rate.
    var schedule: (any LearningRateSchedule)? { get }
    /// Gradient clipping (default none).
    var clipping: GradientClipping { get }
    /// Decoupled weight decay λ: w −= w · λ · rate before each update (Keras's `weight_decay`);
    /// nil for none.
    var weightDecay: Float? { get }
    /// Sizes the state for `parameterCount` parameters (to its initial values); called before
    /// the first update.
    func prepare(parameterCount: Int)
    /// Called once before update number `step` (from 1), before any slice of it is updated,
    /// on one thread: an optimizer with scalar state advances it here.
    func willUpdate(step: Int)
    /// Applies the optimizer's own step number `step` (counting from 1) at `rate` to
    /// `parameters[range]` (after clipping and weight decay).
    func update(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, step: Int, rate: Float)
    /// The state buffers, each with the parameters' layout (averaged across replicas when
    /// averaging parameters, saved in checkpoints). An optimizer written outside Loom
    /// implements it under `@_spi(Kernels) import Loom`.
    @_spi(Kernels) var stateBuffers: [FloatBuffer] { get }
    /// An optimizer with the same settings and fresh state.
    func makeCopy() -> any Optimizer
    /// Refuses settings Keras refuses (a negative rate, β outside [0, 1), …), before training.
    func check() throws
    /// Keras 3's class name ("Adam"), or nil for an optimizer Keras does not have (LARS).
    var kerasClassName: String? { get }
    /// Keras's config arguments beyond the rate, clipping and weight decay (`beta_1`, …).
    var kerasArguments: [String: KerasArgument] { get }
    /// Where Keras 3 keeps this optimizer's state after `step` updates.
    func kerasState(afterSteps step: Int) -> KerasOptimizerState
}

/// Defaults for an optimizer written outside Loom: a constant rate, no clipping or decay, no
/// Keras counterpart, and the shared checks.
extension Optimizer {
    /// None: a constant rate.
    public var schedule: (any LearningRateSchedule)? { nil }
    /// None.
    public var clipping: GradientClipping { .none }
    /// None.
    public var weightDecay: Float? { nil }
    /// None: the optimizer is saved to Keras files uncompiled.
    public var kerasClassName: String? { nil }
    /// None.
    public var kerasArguments: [String: KerasArgument] { [:] }
    /// No state Keras keeps.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: []) }
    /// The rate, schedule, clipping and weight decay checks.
    public func check() throws { try checkCommonSettings() }
}

extension Optimizer {
    /// The state buffers sized for `count` parameters, with their indices in `stateBuffers`:
    /// what snapshots and parameter averaging carry.
    func stateBuffers(sizedFor count: Int) -> [(index: Int, buffer: FloatBuffer)] {
        stateBuffers.enumerated().filter { $0.element.capacity >= count }.map { ($0.offset, $0.element) }
    }

    /// Nothing to advance.
    public func willUpdate(step: Int) {}

    /// The checks every optimizer shares: the rate, the schedule, clipping and weight decay.
    func checkCommonSettings() throws {
        guard learningRate.isFinite, learningRate >= 0 else {
            throw LoomError.invalidArgument("\(name): the learning rate must be a finite number >= 0, got \(learningRate)")
        }
        try schedule?.check()
        try clipping.check()
        if let weightDecay, !(weightDecay.isFinite && weightDecay >= 0) {
            throw LoomError.invalidArgument("\(name): weight_decay must be a finite number >= 0, got \(weightDecay)")
        }
    }

    /// Refuses a β that is not in [0, 1).
    func checkDecay(_ value: Float, _ argument: String) throws {
        guard value >= 0, value < 1 else {
            throw LoomError.invalidArgument("\(name): \(argument) must be in [0, 1), got \(value)")
        }
    }

    /// Refuses an ε that is not a finite number ≥ 0.
    func checkEpsilon(_ value: Float) throws {
        guard value.isFinite, value >= 0 else {
            throw LoomError.invalidArgument("\(name): epsilon must be a finite number >= 0, got \(value)")
        }
    }
}

/// An optimizer whose step of each variable is scaled by a trust ratio of norms over the whole
/// variable (Lamb, LARS). `ParameterUpdate` runs its two phases with a barrier between: the
/// first updates the state and names the buffer whose norm the ratio takes, the second steps
/// each variable by `rate` × its ratio.
public protocol LayerwiseOptimizer: Optimizer {
    /// Phase one on `parameters[range]`: updates the state; returns the buffer (of the
    /// parameters' layout) whose per-variable norm, with the weights', gives the trust ratio.
    func prepareDirections(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) -> UnsafePointer<Float>
    /// The ratio for a variable from the norms of its weights and of the phase-one buffer.
    func trustRatio(weightNorm: Float, directionNorm: Float) -> Float
    /// Phase two on `parameters[range]`, a part of one variable: the step at `rate` × `trustRatio`.
    func applyDirections(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, rate: Float,
        trustRatio: Float)
}

extension LayerwiseOptimizer {
    /// Both phases on `range` taken as one variable (`ParameterUpdate` calls the phases
    /// itself, per variable; this serves a caller updating one variable alone).
    public func update(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, step: Int, rate: Float
    ) {
        let directions = prepareDirections(parameters: parameters, gradients: gradients, range: range, step: step)
        let start = range.lowerBound
        let weightNorm = Float(Kernels.table.sumOfSquares(parameters + start, range.count).squareRoot())
        let directionNorm = Float(Kernels.table.sumOfSquares(directions + start, range.count).squareRoot())
        applyDirections(
            parameters: parameters, gradients: gradients, range: range, rate: rate,
            trustRatio: trustRatio(weightNorm: weightNorm, directionNorm: directionNorm))
    }
}
