import ArgumentParser
import Loom

/// `loom train`'s optimizer: its name and Keras's arguments, gradient clipping, a
/// learning-rate schedule and the large-batch recipe (rate scaling and warmup).
struct OptimizerOptions: ParsableArguments {
    @Option(help: "sgd, adam, adamw, rmsprop, adagrad, adamax, nadam, lamb, lion or lars (default: a compiled --model's, else adam).")
    var optimizer: String?

    @Option(help: "Learning rate (default: the optimizer's Keras default); with --lr-scaling, the rate at --base-batch-size.")
    var lr: Float?

    @Option(help: "Momentum (sgd, rmsprop, lars).")
    var momentum: Float?

    @Flag(help: "Nesterov momentum (sgd).")
    var nesterov = false

    @Option(help: "First moment decay β1 (adam, adamw, adamax, nadam, lamb, lion).")
    var beta1: Float?

    @Option(help: "Second moment decay β2 (adam, adamw, adamax, nadam, lamb, lion).")
    var beta2: Float?

    @Option(help: "Epsilon (adam, adamw, rmsprop, adagrad, adamax, nadam, lamb, lars).")
    var epsilon: Float?

    @Option(help: "Decoupled weight decay, Keras's weight_decay (for lars: the paper's coupled decay).")
    var weightDecay: Float?

    @Option(help: "Clip each weight's gradient to this norm (Keras's clipnorm).")
    var clipnorm: Float?

    @Option(help: "Clip every gradient value to [-V, V] (Keras's clipvalue).")
    var clipvalue: Float?

    @Option(help: "Clip all gradients together to this global norm (Keras's global_clipnorm).")
    var globalClipnorm: Float?

    @Option(
        help: ArgumentHelp(
            "A learning-rate schedule, KIND:NAME=VALUE,... (its initial rate is --lr).",
            discussion: "Kinds: exponential, piecewise, polynomial, inverse-time, cosine, cosine-restarts; "
                + "for example cosine:decay-steps=20000,warmup-steps=500,warmup-target=0.01. "
                + "With --warmup-epochs the schedule starts after the warmup, from the warmed-up rate."))
    var schedule: String?

    @Option(help: "Scale --lr from --base-batch-size to the batch: none, sqrt (by √(B/B0)) or linear (by B/B0).")
    var lrScaling = LargeBatchRecipe.Scaling.none

    @Option(help: "The batch size --lr suits, B0 (with --lr-scaling).")
    var baseBatchSize: Int?

    @Option(help: "Warm the rate up linearly from 0 over this many epochs.")
    var warmupEpochs: Double?

    @Flag(help: "With --warmup-epochs: the warmup grows with the batch, E·B/B0 epochs (You et al.'s LEGW).")
    var legw = false

    func validate() throws {
        if let optimizer, !Optimizers.names.contains(optimizer.lowercased()) {
            throw ValidationError("--optimizer must be one of \(Optimizers.names.joined(separator: ", ")), got \(optimizer)")
        }
        for (value, name) in [(lr, "--lr"), (clipnorm, "--clipnorm"), (clipvalue, "--clipvalue"), (globalClipnorm, "--global-clipnorm")] {
            if let value, !(value.isFinite && value > 0) { throw ValidationError("\(name) must be a positive finite number, got \(value)") }
        }
        for (value, name) in [
            (momentum, "--momentum"), (beta1, "--beta1"), (beta2, "--beta2"), (epsilon, "--epsilon"), (weightDecay, "--weight-decay"),
        ] {
            if let value, !(value.isFinite && value >= 0) { throw ValidationError("\(name) must be a finite number >= 0, got \(value)") }
        }
        if lrScaling != .none && baseBatchSize == nil {
            throw ValidationError("--lr-scaling \(lrScaling.rawValue) needs --base-batch-size")
        }
        if let baseBatchSize, baseBatchSize < 1 { throw ValidationError("--base-batch-size must be at least 1, got \(baseBatchSize)") }
        if baseBatchSize != nil && lrScaling == .none && !legw {
            throw ValidationError("--base-batch-size needs --lr-scaling sqrt or linear, or --legw")
        }
        if let warmupEpochs, !(warmupEpochs.isFinite && warmupEpochs > 0) {
            throw ValidationError("--warmup-epochs must be a positive number, got \(warmupEpochs)")
        }
        if legw && (warmupEpochs == nil || baseBatchSize == nil) {
            throw ValidationError("--legw needs --warmup-epochs and --base-batch-size")
        }
        if nesterov && momentum == nil { throw ValidationError("--nesterov needs --momentum") }
        let namesInitial =
            schedule?.split(separator: ":", maxSplits: 1).last?.split(separator: ",").contains {
                $0.split(separator: "=").first == "initial"
            } ?? false
        if namesInitial, lr != nil || lrScaling != .none || warmupEpochs != nil {
            throw ValidationError(
                "--schedule's initial= sets the starting rate that --lr, --lr-scaling and --warmup-epochs set: give one of them")
        }
    }

    /// Refuses arguments the optimizer the options name does not take, or values it refuses
    /// (with no `--optimizer`, Adam's: call it when no compiled model file may name another).
    func checkArguments() throws {
        do {
            _ = try makeOptimizer(batchSize: baseBatchSize ?? 32, stepsPerEpoch: 1)
        } catch let error as LoomError {
            throw ValidationError("\(error)")
        }
    }

    /// Whether any option sets the optimizer or its rate (which then replace a compiled
    /// model file's optimizer).
    var isGiven: Bool {
        let values: [Any?] = [
            optimizer, lr, momentum, beta1, beta2, epsilon, weightDecay, clipnorm, clipvalue, globalClipnorm, schedule, baseBatchSize,
            warmupEpochs,
        ]
        return values.contains { $0 != nil } || nesterov || legw || lrScaling != .none
    }

    /// Whether an option sets the learning rate or its schedule.
    var setsRate: Bool { lr != nil || schedule != nil || lrScaling != .none || warmupEpochs != nil }

    /// What the options replace of a compiled model file's optimizer `base`, for the run's
    /// notice: all of it when `--optimizer` names another, else the parts given.
    func replacedParts(of base: any Optimizer) -> String {
        let className = base.kerasClassName ?? base.name
        if let optimizer, optimizer.lowercased() != className.lowercased() { return "optimizer (\(className))" }
        let parts = [
            (setsRate, "learning rate"), (momentum != nil, "momentum"), (nesterov, "nesterov"), (beta1 != nil, "beta_1"),
            (beta2 != nil, "beta_2"), (epsilon != nil, "epsilon"), (weightDecay != nil, "weight decay"),
            (clipnorm != nil || clipvalue != nil || globalClipnorm != nil, "clipping"),
        ]
        let named = parts.filter(\.0).map(\.1)
        let list = named.count < 2 ? named.joined() : named.dropLast().joined(separator: ", ") + " and " + named.last!
        return "\(className) optimizer's \(list)"
    }

    /// The optimizer for updates of `batchSize` rows, `stepsPerEpoch` of them an epoch. With
    /// `base` (a compiled model file's optimizer) and no `--optimizer` naming another, the
    /// options replace their parts of it and it keeps the rest (its rate or schedule, unless
    /// an option sets the rate); otherwise every part not given is the optimizer's default.
    func makeOptimizer(batchSize: Int, stepsPerEpoch: Int, replacingPartsOf base: (any Optimizer)? = nil) throws -> any Optimizer {
        let baseName = base?.kerasClassName?.lowercased()
        let optimizer = self.optimizer?.lowercased() ?? baseName ?? "adam"
        let kept = baseName == optimizer ? base.map(Optimizers.arguments(of:)) : nil
        var arguments = kept ?? OptimizerArguments()
        arguments.momentum = momentum ?? arguments.momentum
        arguments.nesterov = nesterov ? true : arguments.nesterov
        arguments.beta1 = beta1 ?? arguments.beta1
        arguments.beta2 = beta2 ?? arguments.beta2
        arguments.epsilon = epsilon ?? arguments.epsilon
        arguments.weightDecay = weightDecay ?? arguments.weightDecay
        if clipnorm != nil || globalClipnorm != nil || clipvalue != nil {
            arguments.clipping = try GradientClipping(clipnorm: clipnorm, globalClipnorm: globalClipnorm, clipvalue: clipvalue)
        }
        // The kept rate or schedule stays unless an option sets the rate.
        guard kept == nil || setsRate else { return try Optimizers.named(optimizer, arguments) }
        let baseRate = try lr ?? kept?.learningRate ?? Optimizers.named(optimizer).learningRate
        let decay = schedule.map { text in { (rate: Float) in try LearningRateSchedules.parse(text, initialLearningRate: rate) } }
        arguments.learningRate = baseRate
        arguments.schedule = nil
        if lrScaling != .none || warmupEpochs != nil {
            let recipe = try LargeBatchRecipe(
                baseLearningRate: baseRate, baseBatchSize: baseBatchSize ?? batchSize, scaling: lrScaling,
                warmupEpochs: warmupEpochs ?? 0, warmupGrowsWithBatch: legw)
            if warmupEpochs == nil {
                // Scaling alone: a constant rate (or the decay from it), which Keras's files can hold.
                let rate = recipe.learningRate(batchSize: batchSize)
                arguments.learningRate = rate
                arguments.schedule = try decay?(rate)
            } else {
                arguments.schedule = try recipe.schedule(batchSize: batchSize, stepsPerEpoch: stepsPerEpoch, decay: decay)
            }
        } else if let decay {
            arguments.schedule = try decay(baseRate)
        }
        return try Optimizers.named(optimizer, arguments)
    }
}

extension LargeBatchRecipe.Scaling: ExpressibleByArgument {}
