import Foundation
import Loom

/// Keras 3's serialized optimizers and learning-rate schedules (`{"module", "class_name",
/// "config"}` objects in a compile config), read into Loom's and written back.
enum KerasOptimizerConfig {
    /// The optimizer of a serialized object, or of a name ("adam") with Keras's defaults.
    static func optimizer(from value: Any) throws -> any Optimizer {
        if let name = value as? String {
            do { return try Optimizers.named(name) } catch { throw KerasConfigProblem(message: "compile_config: \(error)") }
        }
        guard let object = value as? [String: Any], let className = object["class_name"] as? String else {
            throw KerasConfigProblem(message: "compile_config: the optimizer is not a Keras optimizer object")
        }
        var config = LayerConfig(object["config"] as? [String: Any] ?? [:], layer: "optimizer \(className)")
        let rate = try learningRate(config.raw("learning_rate"))
        let accumulation = try config.optionalFloat("gradient_accumulation_steps")
        if let accumulation, accumulation > 1 {
            throw config.error(
                "gradient_accumulation_steps=\(Int(accumulation)) is refused: Keras averages micro-batches equally and counts "
                    + "each as an update; Loom's accumulation (--accumulate) counts updates, so the two differ")
        }
        try config.require("use_ema", is: false, explaining: "Loom keeps no moving average of the weights")
        _ = config.raw("ema_momentum")
        for key in ["ema_overwrite_frequency", "loss_scale_factor"] where config.raw(key) != nil {
            throw config.error("option '\(key)' is not supported (only null)")
        }
        _ = config.raw("is_legacy_optimizer")
        _ = config.raw("jit_compile")
        // tf.keras before 2.11 writes `decay`, a per-update inverse-time decay of the rate, 0 by default.
        if let decay = try config.optionalFloat("decay"), decay != 0 {
            throw config.error("decay=\(decay) (tf.keras's per-update decay) is not supported; use a learning-rate schedule")
        }
        let weightDecay = try config.optionalFloat("weight_decay")
        let (clipnorm, globalClipnorm, clipvalue) = (
            try config.optionalFloat("clipnorm"), try config.optionalFloat("global_clipnorm"), try config.optionalFloat("clipvalue")
        )
        let clipping: GradientClipping
        do {
            clipping = try GradientClipping(clipnorm: clipnorm, globalClipnorm: globalClipnorm, clipvalue: clipvalue)
        } catch { throw config.error("\(error)") }
        let lr = rate.constant ?? 0.001, schedule = rate.schedule
        let optimizer: any Optimizer
        switch className {
        case "SGD":
            optimizer = SGD(
                learningRate: lr, momentum: try config.float("momentum", default: 0),
                nesterov: try config.bool("nesterov", default: false), weightDecay: weightDecay, clipping: clipping,
                schedule: schedule)
        case "Adam", "AdamW":
            try config.require("amsgrad", is: false, explaining: "Loom has no AMSGrad")
            let (beta1, beta2, epsilon) = (
                try config.float("beta_1", default: 0.9), try config.float("beta_2", default: 0.999),
                try config.float("epsilon", default: 1e-7)
            )
            optimizer =
                className == "Adam"
                ? Adam(
                    learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, clipping: clipping,
                    schedule: schedule)
                : AdamW(
                    learningRate: lr, weightDecay: weightDecay ?? 0.004, beta1: beta1, beta2: beta2, epsilon: epsilon,
                    clipping: clipping, schedule: schedule)
        case "RMSprop":
            try config.require("centered", is: false, explaining: "Loom's RMSprop is not centred")
            optimizer = RMSprop(
                learningRate: lr, rho: try config.float("rho", default: 0.9), momentum: try config.float("momentum", default: 0),
                epsilon: try config.float("epsilon", default: 1e-7), weightDecay: weightDecay, clipping: clipping,
                schedule: schedule)
        case "Adagrad":
            optimizer = Adagrad(
                learningRate: lr, initialAccumulatorValue: try config.float("initial_accumulator_value", default: 0.1),
                epsilon: try config.float("epsilon", default: 1e-7), weightDecay: weightDecay, clipping: clipping,
                schedule: schedule)
        case "Adamax", "Nadam", "Lamb":
            let (beta1, beta2, epsilon) = (
                try config.float("beta_1", default: 0.9), try config.float("beta_2", default: 0.999),
                try config.float("epsilon", default: 1e-7)
            )
            switch className {
            case "Adamax":
                optimizer = Adamax(
                    learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, clipping: clipping,
                    schedule: schedule)
            case "Nadam":
                optimizer = Nadam(
                    learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, clipping: clipping,
                    schedule: schedule)
            default:
                optimizer = Lamb(
                    learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, clipping: clipping,
                    schedule: schedule)
            }
        case "Lion":
            optimizer = Lion(
                learningRate: lr, beta1: try config.float("beta_1", default: 0.9), beta2: try config.float("beta_2", default: 0.99),
                weightDecay: weightDecay, clipping: clipping, schedule: schedule)
        default:
            throw KerasConfigProblem(
                message: "compile_config: the optimizer \(className) is not supported by Loom "
                    + "(it has SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam, Lamb and Lion)")
        }
        try config.finish()
        do { try optimizer.check() } catch { throw config.error("\(error)") }
        return optimizer
    }

    /// A `learning_rate`: a number, or a serialized schedule.
    private static func learningRate(_ value: Any?) throws -> (constant: Float?, schedule: (any LearningRateSchedule)?) {
        guard let value else { return (nil, nil) }
        if let number = value as? NSNumber { return (number.floatValue, nil) }
        guard let object = value as? [String: Any], let className = object["class_name"] as? String else {
            throw KerasConfigProblem(message: "compile_config: the learning_rate \(value) is not a number or a Keras schedule")
        }
        var config = LayerConfig(object["config"] as? [String: Any] ?? [:], layer: "schedule \(className)")
        let schedule: any LearningRateSchedule
        switch className {
        case "ExponentialDecay", "InverseTimeDecay":
            let (initial, steps, rate, staircase) = (
                try config.float("initial_learning_rate", default: 0), try config.int("decay_steps"),
                try config.float("decay_rate", default: 0), try config.bool("staircase", default: false)
            )
            schedule =
                className == "ExponentialDecay"
                ? ExponentialDecay(initialLearningRate: initial, decaySteps: steps, decayRate: rate, staircase: staircase)
                : InverseTimeDecay(initialLearningRate: initial, decaySteps: steps, decayRate: rate, staircase: staircase)
        case "PiecewiseConstantDecay":
            let boundaries = (config.raw("boundaries") as? [Any])?.compactMap { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
            let values = (config.raw("values") as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue }
            guard let boundaries, let values else { throw config.error("boundaries and values must be lists of numbers") }
            schedule = PiecewiseConstantDecay(boundaries: boundaries, values: values)
        case "PolynomialDecay":
            schedule = PolynomialDecay(
                initialLearningRate: try config.float("initial_learning_rate", default: 0), decaySteps: try config.int("decay_steps"),
                endLearningRate: try config.float("end_learning_rate", default: 0.0001), power: try config.float("power", default: 1),
                cycle: try config.bool("cycle", default: false))
        case "CosineDecay":
            schedule = CosineDecay(
                initialLearningRate: try config.float("initial_learning_rate", default: 0), decaySteps: try config.int("decay_steps"),
                alpha: try config.float("alpha", default: 0), warmupTarget: try config.optionalFloat("warmup_target"),
                warmupSteps: try config.int("warmup_steps", default: 0))
        case "CosineDecayRestarts":
            schedule = CosineDecayRestarts(
                initialLearningRate: try config.float("initial_learning_rate", default: 0),
                firstDecaySteps: try config.int("first_decay_steps"), tMul: try config.float("t_mul", default: 2),
                mMul: try config.float("m_mul", default: 1), alpha: try config.float("alpha", default: 0))
        default:
            throw KerasConfigProblem(
                message: "compile_config: the learning-rate schedule \(className) is not supported by Loom (it has "
                    + "ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay and CosineDecayRestarts)")
        }
        try config.finish()
        do { try schedule.check() } catch { throw config.error("\(error)") }
        return (nil, schedule)
    }

    /// The serialized optimizer Keras 3 writes; nil when it or its schedule is not Keras's.
    static func json(of optimizer: any Optimizer) -> [String: Any]? {
        guard let className = optimizer.kerasClassName else { return nil }
        let rate: Any
        if let schedule = optimizer.schedule {
            guard schedule.kerasClassName != "LinearWarmup" else { return nil }
            var config = schedule.kerasConfig.mapValues(value)
            config["name"] = schedule.kerasClassName == "CosineDecayRestarts" ? "SGDRDecay" : schedule.kerasClassName
            rate =
                [
                    "module": "keras.optimizers.schedules", "class_name": schedule.kerasClassName, "config": config,
                    "registered_name": NSNull(),
                ] as [String: Any]
        } else {
            rate = float(Double(optimizer.learningRate))
        }
        var config = optimizer.kerasArguments.mapValues(value)
        let clip: (Float?, Float?, Float?)
        switch optimizer.clipping {
        case .none: clip = (nil, nil, nil)
        case .norm(let c): clip = (c, nil, nil)
        case .globalNorm(let c): clip = (nil, c, nil)
        case .value(let c): clip = (nil, nil, c)
        }
        let common: [String: Any] = [
            "name": optimizer.name, "learning_rate": rate, "weight_decay": number(optimizer.weightDecay), "clipnorm": number(clip.0),
            "global_clipnorm": number(clip.1), "clipvalue": number(clip.2), "use_ema": false, "ema_momentum": 0.99,
            "ema_overwrite_frequency": NSNull(), "loss_scale_factor": NSNull(), "gradient_accumulation_steps": NSNull(),
        ]
        config.merge(common) { $1 }
        return ["module": "keras.optimizers", "class_name": className, "config": config, "registered_name": NSNull()]
    }

    private static func number(_ value: Float?) -> Any { value.map { float(Double($0)) } ?? NSNull() }

    /// JSONSerialization writes a whole Double as an integer ("0"), and Keras computes a
    /// schedule in the type of its initial rate: such a number is written as this marker and
    /// its text, whose quotes `floatsUnmarked` removes from the finished JSON.
    static let floatMarker = "loom-float:"

    /// `x` (a Float's value) as a value JSONSerialization writes as a JSON float, in the
    /// Float's shortest decimal form (0.9, not 0.8999999761581421).
    static func float(_ x: Double) -> Any {
        let shortest = Double("\(Float(x))") ?? x
        return shortest.isFinite && shortest == shortest.rounded() ? "\(floatMarker)\(shortest)" : shortest
    }

    /// The JSON `text` with every marked float written as a number.
    static func floatsUnmarked(_ data: Data) -> Data {
        let text = String(decoding: data, as: UTF8.self)
        let pattern = try! NSRegularExpression(pattern: "\"\(floatMarker)([-+0-9.eE]+)\"")
        return Data(pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1").utf8)
    }

    private static func value(_ argument: KerasArgument) -> Any {
        switch argument {
        case .number(let x): return float(x)
        case .numbers(let xs): return xs.map(float)
        case .integer(let n): return n
        case .integers(let ns): return ns
        case .flag(let b): return b
        case .absent: return NSNull()
        }
    }
}
