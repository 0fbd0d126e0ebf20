import Foundation
import Loom

/// What a Keras 3 model's `compile()` fixed, as a `.keras` file's `compile_config` holds it:
/// the optimizer with its arguments and learning-rate schedule, the loss and the metrics.
///
/// Read and written as Keras 3.15 does. Anything Loom cannot train as Keras would is refused
/// by name, never dropped: an unknown optimizer, schedule, loss, metric or argument,
/// `loss_weights`, `weighted_metrics`, an exponential moving average, loss scaling, and
/// `gradient_accumulation_steps` (Keras averages micro-batches equally and counts them as
/// updates; Loom's accumulation counts updates).
public struct KerasCompileConfig {
    /// The optimizer, with its schedule and clipping.
    public let optimizer: any Optimizer
    /// The loss.
    public let loss: Loss
    /// The metrics reported.
    public let metrics: [Metric]
    /// The name each metric is logged under, in order: as the file names it ("mae",
    /// "mean_absolute_error", a metric object's `name`), as Keras logs it.
    public let metricNames: [String]

    /// The config of a compiled model (the metrics named by `metricNames`, else their own names).
    public init(optimizer: any Optimizer, loss: Loss, metrics: [Metric], metricNames: [String]? = nil) {
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.metricNames = metricNames ?? metrics.map(\.rawValue)
    }

    /// The compile config of a `.keras` file (nil when the model was saved uncompiled), of a
    /// JSON config holding one, or of a whole-model `.h5` file (its `training_config`).
    public static func read(from url: URL) throws -> KerasCompileConfig? {
        try decoded(from: url) { try KerasCompileConfig(json: $0) }
    }

    /// The loss and metrics of a model file's compile config, as `read(from:)` finds it (nil
    /// when saved uncompiled): what Keras's `evaluate` reports. Its optimizer is not read.
    /// Without `readsMetrics` (a command line replaces them), the metrics are not read and
    /// come back empty.
    public static func readEvaluation(
        from url: URL, readsMetrics: Bool = true
    ) throws -> (loss: Loss, metrics: [Metric], metricNames: [String])? {
        try readKept(from: url, optimizer: false, loss: true, metrics: readsMetrics).map { kept in
            (kept.loss!, kept.metrics?.kinds ?? [], kept.metrics?.names ?? [])
        }
    }

    /// The parts of a model file's compile config that a command line keeps, when the whole
    /// cannot be trained: those it replaces are not read (an optimizer, loss or metric Loom
    /// does not have is then no obstacle), and an absent optimizer (Keras 3's `to_json()`
    /// writes none) is nil. Nil when the file was saved uncompiled.
    public static func readKept(
        from url: URL, optimizer readsOptimizer: Bool, loss readsLoss: Bool, metrics readsMetrics: Bool
    ) throws -> KeptParts? {
        try decoded(from: url) { json in
            let evaluation = try evaluation(json: json, readsLoss: readsLoss, readsMetrics: readsMetrics)
            let optimizer = try json["optimizer"].flatMap { raw in
                try readsOptimizer && !KerasConfigReader.isNull(raw) ? KerasOptimizerConfig.optimizer(from: raw) : nil
            }
            return KeptParts(
                optimizer: optimizer, loss: readsLoss ? evaluation.loss : nil,
                metrics: readsMetrics ? (evaluation.metrics, evaluation.metricNames) : nil)
        }
    }

    /// What `readKept` read of a compile config: each part nil where it was not read.
    public struct KeptParts {
        /// The optimizer, with its schedule and clipping; nil when replaced or absent.
        public let optimizer: (any Optimizer)?
        /// The loss; nil when replaced.
        public let loss: Loss?
        /// The metrics and the names they are logged under; nil when replaced.
        public let metrics: (kinds: [Metric], names: [String])?
    }

    /// The model file's raw compile config, decoded by `decode` (its errors naming the file);
    /// nil when there is none.
    private static func decoded<T>(from url: URL, _ decode: ([String: Any]) throws -> T) throws -> T? {
        // The layers' training-only settings are the model's business, not the compile config's.
        let config = try KerasModelFile.config(of: url, kind: try KerasModelFile.kind(of: url), forPrediction: true)
        guard let raw = config.compileConfig else { return nil }
        return try KerasFileError.naming(url.path) { try decode(raw) }
    }

    /// Decodes a `compile_config` object.
    init(json: [String: Any]) throws {
        let read = try Self.evaluation(json: json)
        (loss, metrics, metricNames) = (read.loss!, read.metrics, read.metricNames)
        guard let optimizer = json["optimizer"], !KerasConfigReader.isNull(optimizer) else {
            throw KerasConfigProblem(message: "compile_config has no optimizer")
        }
        self.optimizer = try KerasOptimizerConfig.optimizer(from: optimizer)
    }

    /// A `compile_config` object's loss and metrics, its other keys checked; the loss nil and
    /// the metrics empty where they are not read.
    private static func evaluation(
        json: [String: Any], readsLoss: Bool = true, readsMetrics: Bool = true
    ) throws -> (loss: Loss?, metrics: [Metric], metricNames: [String]) {
        let known: Set = [
            "optimizer", "loss", "metrics", "loss_weights", "weighted_metrics", "run_eagerly", "steps_per_execution",
            "jit_compile", "auto_scale_loss", "sample_weight_mode",
        ]
        try KerasConfigReader.refuseUnknown(json, known: known, in: "compile_config")
        for key in ["loss_weights", "weighted_metrics", "sample_weight_mode"] where !KerasConfigReader.isNull(json[key]) {
            throw KerasConfigProblem(message: "compile_config: \(key) is not supported by Loom (compile without it)")
        }
        let loss = try readsLoss ? KerasConfigReader.named(json["loss"], what: "loss") { try Loss(kerasName: $0) } : nil
        guard readsMetrics else { return (loss, [], []) }
        let metrics = json["metrics"].flatMap { KerasConfigReader.isNull($0) ? nil : $0 } ?? [Any]()
        guard let list = metrics as? [Any] else {
            throw KerasConfigProblem(message: "compile_config: metrics must be a list (Loom trains one output)")
        }
        let kinds = try list.map { try KerasConfigReader.named($0, what: "metric") { try Metric(kerasName: $0) } }
        return (loss, kinds, list.map(KerasConfigReader.loggedName))
    }

    /// Keras's class of each metric (`.accuracy`, which the loss resolves, has none: it is
    /// always written by name).
    private static let metricClassNames: [Metric: String] = [
        .mae: "MeanAbsoluteError", .mse: "MeanSquaredError", .binaryAccuracy: "BinaryAccuracy",
        .categoricalAccuracy: "CategoricalAccuracy", .sparseCategoricalAccuracy: "SparseCategoricalAccuracy",
        .rootMeanSquaredError: "RootMeanSquaredError", .meanAbsolutePercentageError: "MeanAbsolutePercentageError",
        .r2Score: "R2Score",
    ]

    /// A metric as the config lists it: by name when Keras resolves that name to the metric
    /// and logs it so, else as a metric object carrying the name.
    private static func json(of metric: Metric, named name: String) -> Any {
        guard let className = metricClassNames[metric],
            ![metric.rawValue, className, Sequential.snakeCase(className)].contains(name)
        else { return name }
        return [
            "module": "keras.metrics", "class_name": className, "config": ["name": name, "dtype": "float32"],
            "registered_name": NSNull(),
        ] as [String: Any]
    }

    /// The `compile_config` Keras 3 writes; nil when the optimizer or its schedule is not
    /// Keras's (LARS, a `LinearWarmup`): such a model is saved uncompiled.
    func json() -> [String: Any]? {
        guard let optimizer = KerasOptimizerConfig.json(of: optimizer) else { return nil }
        return [
            "optimizer": optimizer, "loss": loss.rawValue, "loss_weights": NSNull(),
            "metrics": zip(metrics, metricNames).map { Self.json(of: $0, named: $1) },
            "weighted_metrics": NSNull(), "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false,
        ]
    }
}
