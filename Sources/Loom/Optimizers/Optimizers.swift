/// The arguments an optimizer can be built from by name (the command line's `--momentum`,
/// `--beta1`, …): nil takes the optimizer's Keras default.
public struct OptimizerArguments: Sendable {
    /// The learning rate (with a schedule, its initial rate is the schedule's).
    public var learningRate: Float?
    /// Momentum (sgd, rmsprop, lars).
    public var momentum: Float?
    /// Nesterov momentum (sgd).
    public var nesterov: Bool?
    /// The first moment's decay β₁ (Adam family, Lamb, Lion).
    public var beta1: Float?
    /// The second moment's decay β₂ (Adam family, Lamb, Lion).
    public var beta2: Float?
    /// The optimizer's ε.
    public var epsilon: Float?
    /// RMSprop's decay of its mean squares ρ (no command-line option: a model file's).
    public var rho: Float?
    /// Adagrad's initial accumulator value (no command-line option: a model file's).
    public var initialAccumulatorValue: Float?
    /// Keras's decoupled `weight_decay`; for LARS, the paper's coupled β.
    public var weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public var clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public var schedule: (any LearningRateSchedule)?

    /// Arguments, every one the optimizer's default unless given.
    public init(
        learningRate: Float? = nil, momentum: Float? = nil, nesterov: Bool? = nil, beta1: Float? = nil,
        beta2: Float? = nil, epsilon: Float? = nil, rho: Float? = nil, initialAccumulatorValue: Float? = nil,
        weightDecay: Float? = nil, clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.rho = rho
        self.initialAccumulatorValue = initialAccumulatorValue
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The names of the given arguments, as the command line spells them.
    var given: [String] {
        [
            momentum.map { _ in "momentum" }, nesterov.map { _ in "nesterov" }, beta1.map { _ in "beta1" },
            beta2.map { _ in "beta2" }, epsilon.map { _ in "epsilon" }, weightDecay.map { _ in "weight-decay" },
        ].compactMap { $0 }
    }
}

/// Optimizers by Keras's names, for configuration files and the command line.
public enum Optimizers {
    /// The names `named` knows.
    public static let names = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "lamb", "lion", "lars"]

    /// Parses Keras's name and learning rate into an optimizer with Keras's other defaults.
    public static func named(_ name: String, learningRate: Float? = nil) throws -> any Optimizer {
        try named(name, OptimizerArguments(learningRate: learningRate))
    }

    /// The arguments a Keras optimizer holds, every one it takes set: `named` with its Keras
    /// class name and these makes the same optimizer (its state aside). The rate is its
    /// current one (with a schedule, the schedule sets it).
    public static func arguments(of optimizer: any Optimizer) -> OptimizerArguments {
        let keras = optimizer.kerasArguments
        func number(_ key: String) -> Float? { if case .number(let x)? = keras[key] { Float(x) } else { nil } }
        let nesterov: Bool? = if case .flag(let on)? = keras["nesterov"] { on } else { nil }
        return OptimizerArguments(
            learningRate: optimizer.learningRate, momentum: number("momentum"), nesterov: nesterov, beta1: number("beta_1"),
            beta2: number("beta_2"), epsilon: number("epsilon"), rho: number("rho"),
            initialAccumulatorValue: number("initial_accumulator_value"), weightDecay: optimizer.weightDecay,
            clipping: optimizer.clipping, schedule: optimizer.schedule)
    }

    /// The optimizer `name` with `arguments` (each absent one at Keras's default); an argument
    /// the optimizer does not take is refused by name, and so are values it refuses.
    public static func named(_ name: String, _ arguments: OptimizerArguments) throws -> any Optimizer {
        let a = arguments
        let optimizer: any Optimizer
        let takes: Set<String>
        switch name.lowercased() {
        case "sgd":
            takes = ["momentum", "nesterov", "weight-decay"]
            optimizer = SGD(
                learningRate: a.learningRate ?? 0.01, momentum: a.momentum ?? 0, nesterov: a.nesterov ?? false,
                weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "adam", "adamw":
            takes = ["beta1", "beta2", "epsilon", "weight-decay"]
            optimizer =
                name.lowercased() == "adam"
                ? Adam(
                    learningRate: a.learningRate ?? 0.001, beta1: a.beta1 ?? 0.9, beta2: a.beta2 ?? 0.999,
                    epsilon: a.epsilon ?? 1e-7, weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
                : AdamW(
                    learningRate: a.learningRate ?? 0.001, weightDecay: a.weightDecay ?? 0.004, beta1: a.beta1 ?? 0.9,
                    beta2: a.beta2 ?? 0.999, epsilon: a.epsilon ?? 1e-7, clipping: a.clipping, schedule: a.schedule)
        case "rmsprop":
            takes = ["momentum", "epsilon", "weight-decay"]
            optimizer = RMSprop(
                learningRate: a.learningRate ?? 0.001, rho: a.rho ?? 0.9, momentum: a.momentum ?? 0, epsilon: a.epsilon ?? 1e-7,
                weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "adagrad":
            takes = ["epsilon", "weight-decay"]
            optimizer = Adagrad(
                learningRate: a.learningRate ?? 0.001, initialAccumulatorValue: a.initialAccumulatorValue ?? 0.1,
                epsilon: a.epsilon ?? 1e-7, weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "adamax":
            takes = ["beta1", "beta2", "epsilon", "weight-decay"]
            optimizer = Adamax(
                learningRate: a.learningRate ?? 0.001, beta1: a.beta1 ?? 0.9, beta2: a.beta2 ?? 0.999,
                epsilon: a.epsilon ?? 1e-7, weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "nadam":
            takes = ["beta1", "beta2", "epsilon", "weight-decay"]
            optimizer = Nadam(
                learningRate: a.learningRate ?? 0.001, beta1: a.beta1 ?? 0.9, beta2: a.beta2 ?? 0.999,
                epsilon: a.epsilon ?? 1e-7, weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "lamb":
            takes = ["beta1", "beta2", "epsilon", "weight-decay"]
            optimizer = Lamb(
                learningRate: a.learningRate ?? 0.001, beta1: a.beta1 ?? 0.9, beta2: a.beta2 ?? 0.999,
                epsilon: a.epsilon ?? 1e-7, weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "lion":
            takes = ["beta1", "beta2", "weight-decay"]
            optimizer = Lion(
                learningRate: a.learningRate ?? 0.001, beta1: a.beta1 ?? 0.9, beta2: a.beta2 ?? 0.99,
                weightDecay: a.weightDecay, clipping: a.clipping, schedule: a.schedule)
        case "lars":
            takes = ["momentum", "epsilon", "weight-decay"]
            optimizer = LARS(
                learningRate: a.learningRate ?? 1, momentum: a.momentum ?? 0.9, decay: a.weightDecay ?? 0,
                epsilon: a.epsilon ?? 0, clipping: a.clipping, schedule: a.schedule)
        default:
            throw LoomError.invalidArgument("unknown optimizer '\(name)'; expected \(names.joined(separator: ", "))")
        }
        if let refused = a.given.first(where: { !takes.contains($0) }) {
            throw LoomError.invalidArgument(
                "optimizer '\(name)' takes no \(refused) (it takes \(takes.sorted().joined(separator: ", ")))")
        }
        try optimizer.check()
        return optimizer
    }
}
