import Foundation

/// A linear stack of layers, as Keras's `Sequential`: built from a list in braces or with
/// `add(_:)`, then `compile`d and trained with `fit`.
///
///     let model = Sequential {
///         Input(shape: [10, 25])
///         LSTM(10)
///         Dense(1)
///     }
///     try model.compile(optimizer: Adam(), loss: .meanSquaredError, metrics: [.mae])
///     let history = try model.fit(x: x, y: y, epochs: 10, batchSize: 32)
///
/// All parameters live in one flat buffer (and their gradients in one of the same layout);
/// each layer holds pointers into it, in layer order and, within a layer, Keras's weight
/// order. Every random draw (initial weights, shuffles) comes from the model's `seed`.
public final class Sequential {
    /// The layers, first to last.
    public private(set) var layers: [any Layer] = []
    /// The per-sample input shape, from `Input` or from the first data seen.
    public private(set) var inputShape: [Int]?
    /// The fixed batch size from `Input(batchSize:)`; required by stateful layers.
    public private(set) var batchSize: Int?
    /// The seed of every random draw of this model.
    public let seed: UInt64
    /// Keras's model name, shown by `summary()`.
    public var name: String

    var generator: SeededGenerator
    /// Per-sample output shape of each layer, once built.
    var outputShapes: [[Int]] = []
    /// The parameters, their gradients, the optimizer and its step count.
    let parameterStore = ParameterStore()
    /// The loss and metrics `compile` fixed; nil until compiled.
    var objective: Objective?
    /// The model's own layers as a replica (the only one with one shard), made once per build.
    var primaryReplicaStorage: Replica?
    /// The chunk length while a truncated-BPTT fit runs (the layers are built for it); nil otherwise.
    var chunkLength: Int?
    /// Where the time of the last `fit`'s steps went.
    public internal(set) var lastFitProfile: StepProfile?
    /// The settings of the Keras model this was read from that change training alone
    /// ("LSTM 'lstm': kernel_regularizer", a frozen layer), accepted when it was read for
    /// prediction; empty otherwise. `fit` refuses while any is set, and so do `evaluate` with
    /// a regularizer (Keras adds its penalty to the loss) and saving the model's config.
    package var trainingOnlySettings: [String] = []
    /// The layers the Keras model froze (`trainable=false`), read for prediction: the summary
    /// counts their parameters as non-trainable, as Keras's does.
    package var frozenLayers: Set<String> = []

    /// The number of scalars in all parameters.
    public var parameterCount: Int { parameterStore.count }

    /// The optimizer `compile` was given (Keras's `model.optimizer`); nil until compiled.
    public var optimizer: (any Optimizer)? { parameterStore.optimizer }

    /// The loss `compile` was given; nil until compiled.
    public var loss: Loss? { objective?.loss }

    /// The metrics `compile` was given ([] until compiled).
    public var metrics: [Metric] { objective?.metrics ?? [] }
    /// The keys the compiled metrics are logged under, in order (`compile`'s `metricNames`).
    public var metricNames: [String] { objective?.metricNames ?? [] }

    /// Whether `compile` was called since the layers last changed.
    var isCompiled: Bool { objective != nil }

    /// A model from a list of an optional `Input` and layers.
    public init(name: String = "sequential", seed: UInt64 = 0, @SequentialBuilder _ content: () -> [SequentialComponent]) {
        self.name = name
        self.seed = seed
        generator = SeededGenerator(seed: seed)
        for component in content() {
            switch component {
            case let .input(input): inputShape = input.shape; batchSize = input.batchSize
            case let .layer(layer): layers.append(layer)
            }
        }
    }

    /// An empty model (add layers with `add(_:)`), optionally with its input declared.
    public convenience init(name: String = "sequential", seed: UInt64 = 0, inputShape: [Int]? = nil, batchSize: Int? = nil) {
        self.init(name: name, seed: seed) {}
        self.inputShape = inputShape
        self.batchSize = batchSize
    }

    /// Appends a layer. Shapes are checked when the model is built (by `compile`, `summary`
    /// or the first data). The model must be compiled (again) before training.
    public func add(_ layer: any Layer) {
        layers.append(layer)
        outputShapes = []
        forgetCompilation()
    }

    /// Declares the input, as Keras's `model.add(Input(...))`.
    public func add(_ input: Input) {
        inputShape = input.shape
        batchSize = input.batchSize
        outputShapes = []
        forgetCompilation()
    }

    private func forgetCompilation() {
        objective = nil
        parameterStore.optimizer = nil
        parameterStore.step = 0
        parameterStore.optimizerLoaded = false
    }

    /// Whether shapes are checked and parameters allocated.
    public var isBuilt: Bool { !outputShapes.isEmpty }

    /// Whether any layer carries state from batch to batch (a stateful recurrent layer).
    public var isStateful: Bool { layers.contains(where: \.isStateful) }

    /// Whether the output carries a timestep mask (`MaskAwareLayer`): a `Masking` layer or
    /// `Embedding(maskZero: true)` whose mask every later layer passes on. Then the loss and
    /// metrics leave out the masked steps.
    public var masksOutput: Bool { masksOutput(inputMasked: false) }

    /// Whether the output carries a timestep mask when the inputs come with one
    /// (`inputMasked`, a dataset's `sequenceLengths`) or not.
    public func masksOutput(inputMasked: Bool) -> Bool {
        layers.reduce(inputMasked) { masked, layer in (layer as? any MaskAwareLayer)?.masksOutput(inputMasked: masked) ?? false }
    }

    /// The per-sample output shape of each layer, once built (Keras's summary column, batch excluded).
    public var layerOutputShapes: [[Int]] { outputShapes }

    /// The per-sample output shape of the model, once built.
    public var outputShape: [Int]? { outputShapes.last }

    /// Checks every layer's input shape, names unnamed layers Keras-style, and allocates and
    /// initialises the parameters. A second call with the same input shape does nothing.
    public func build(inputShape shape: [Int]? = nil) throws {
        if let shape, let declared = inputShape, shape != declared {
            throw LoomError.shapeMismatch(
                context: "model '\(name)' input", expected: Shape.describe(declared, batch: batchSize),
                found: [-1] + shape)
        }
        if isBuilt { return }
        guard let input = shape ?? inputShape else {
            throw LoomError.notReady("model '\(name)' has no input shape: start it with Input(shape:) or fit it on data")
        }
        guard !layers.isEmpty else { throw LoomError.notReady("model '\(name)' has no layers") }
        guard input.allSatisfy({ $0 > 0 }) else {
            throw LoomError.shapeMismatch(context: "model '\(name)' input", expected: "positive dimensions", found: [-1] + input)
        }
        try checkSize(input, of: "the input")
        nameLayers()
        // The model checks its first layer's input only (`Layer.needsCheckedInput`).
        if let unchecked = layers.dropFirst().first(where: \.needsCheckedInput) { throw unchecked.uncheckedInputError() }
        var shapes: [[Int]] = []
        var current = input
        for (index, layer) in layers.enumerated() {
            let previous = index == 0 ? "the input" : layers[index - 1].name
            do {
                current = try layer.build(inputShape: current)
            } catch let LoomError.shapeMismatch(_, expected, found) {
                // Layers report the shape they got batch first; show the model's batch size.
                throw LoomError.incompatibleLayers(
                    layer: layer.name, previous: previous, expected: expected,
                    found: [batchSize ?? -1] + Array(found.dropFirst()))
            }
            guard current.allSatisfy({ $0 > 0 }) else {
                throw LoomError.incompatibleLayers(
                    layer: layer.name, previous: previous, expected: "an output with no empty dimension",
                    found: [batchSize ?? -1] + current)
            }
            try checkSize(current, of: "the output of layer '\(layer.name)'")
            shapes.append(current)
        }
        let parameterCounts = layers.flatMap { $0.parameterSpecs.map { Shape.checkedCount($0.shape) } }
        let total = parameterCounts.reduce(Int?.some(0)) { sum, count in
            guard let sum, let count else { return nil }
            let (added, overflow) = sum.addingReportingOverflow(count)
            return overflow ? nil : added
        }
        guard let total, total <= Sequential.maximumSize else {
            throw LoomError.invalidArgument(
                "model '\(name)' needs \(total.map(String.init) ?? "more than 2^63") parameters; "
                    + "Loom holds at most \(Sequential.maximumSize) (8 GiB of Float32)")
        }
        if let stateful = layers.first(where: \.isStateful), batchSize == nil {
            throw LoomError.statefulBatch(
                "\(stateful.typeName) '\(stateful.name)' is stateful and needs a fixed batch size: "
                    + "start the model with Input(shape: \(input), batchSize: N)")
        }
        try Sequential.checkMemory(
            bytes: Double(total) * 2 * 4, for: "model '\(name)'",
            what: "\(total) parameters and their gradients")
        inputShape = input
        outputShapes = shapes
        allocateParameters()
        if let objective { prepare(objective) }
        for (index, layer) in layers.enumerated() {
            (layer as? any RandomizedLayer)?.seed(seed &+ 0x9E37_79B9 &* UInt64(index + 1))
        }
    }

    /// The most values a sample of any layer, or all the parameters, may hold: 2³¹ − 1 floats
    /// (8 GiB). Sizes from a damaged or hostile model file are refused here, before they can
    /// overflow a count or exhaust memory.
    static let maximumSize = Int(Int32.max)

    private func checkSize(_ shape: [Int], of what: String) throws {
        guard let count = Shape.checkedCount(shape), count <= Sequential.maximumSize else {
            throw LoomError.invalidArgument(
                "model '\(name)': \(what) of shape \(Shape.describe(shape, batch: batchSize)) holds more than "
                    + "\(Sequential.maximumSize) values a sample")
        }
    }

    private func nameLayers() {
        var used = Set(layers.map(\.name).filter { !$0.isEmpty })
        for layer in layers where layer.name.isEmpty {
            let base = Sequential.snakeCase(layer.typeName)
            var candidate = base, counter = 0
            while used.contains(candidate) {
                counter += 1
                candidate = "\(base)_\(counter)"
            }
            layer.name = candidate
            used.insert(candidate)
        }
    }

    /// Keras's `to_snake_case`: "LSTM" → "lstm", "MaxPooling2D" → "max_pooling2d",
    /// "SimpleRNN" → "simple_rnn" (the same two regular-expression passes).
    package static func snakeCase(_ name: String) -> String {
        var text = name
        for (pattern, template) in [("(.)([A-Z][a-z]+)", "$1_$2"), ("([a-z])([A-Z])", "$1_$2")] {
            let expression = try! NSRegularExpression(pattern: pattern)
            text = expression.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
        return text.lowercased()
    }

    /// Sizes the store (and the optimizer's state), binds every layer to it and draws the
    /// initial values.
    private func allocateParameters() {
        primaryReplicaStorage = nil
        let layout = ParameterLayout(layers: layers)
        parameterStore.allocate(layout)
        let values = parameterStore.values.pointer, gradients = parameterStore.gradients.pointer
        for (layer, offset) in zip(layers, layout.layerOffsets) {
            layer.bind(ParameterBinding(values: values, gradients: gradients, offset: offset))
        }
        for (variable, spec) in zip(layout.variables, layers.flatMap(\.parameterSpecs)) {
            spec.initializer.fill(values + variable.range.lowerBound, shape: spec.shape, using: &generator)
        }
    }

    /// The model's own layers and the store's gradient buffer, as the replica of one-shard
    /// work (made once a build, so a step allocates nothing).
    var primaryReplica: Replica {
        if let replica = primaryReplicaStorage { return replica }
        let replica = Replica(modelLayers: layers, store: parameterStore)
        primaryReplicaStorage = replica
        return replica
    }

    /// Prepares the model for training: the optimizer, the loss and the metrics to report,
    /// each logged under its name in `metricNames` (Keras's metric `name`: "my_mae" for
    /// `MeanAbsoluteError(name="my_mae")`; default, the metric's own, "mae").
    /// A model with no declared input is built, and the optimizer sized, on the first data.
    public func compile(optimizer: any Optimizer, loss: Loss, metrics: [Metric] = [], metricNames: [String]? = nil) throws {
        guard !layers.isEmpty else { throw LoomError.notReady("model '\(name)' has no layers") }
        for (index, metric) in metrics.enumerated() where metrics[..<index].contains(metric) {
            throw LoomError.invalidArgument("compile: metric '\(metric.rawValue)' is listed twice; list each metric once")
        }
        let names = metricNames ?? metrics.map(\.rawValue)
        guard names.count == metrics.count else {
            throw LoomError.invalidArgument("compile: \(names.count) metric names for \(metrics.count) metrics")
        }
        for (index, name) in names.enumerated() {
            guard !name.isEmpty, name != "loss", name != "learning_rate", !name.hasPrefix("val_"), !names[..<index].contains(name) else {
                throw LoomError.invalidArgument(
                    "compile: metric name '\(name)' is empty, repeated, 'loss', 'learning_rate' or starts with 'val_' "
                        + "(the history's other keys)")
            }
            if metrics[index] == .accuracy, !["accuracy", "acc"].contains(name) {
                throw LoomError.invalidArgument(
                    "compile: accuracy (resolved by the loss) is named accuracy or acc, as in Keras; got '\(name)' "
                        + "(name binary_accuracy, categorical_accuracy or sparse_categorical_accuracy instead)")
            }
        }
        try optimizer.check()
        for metric in metrics where metric != .accuracy && metric.takesClassIndices != loss.takesClassIndices {
            throw LoomError.invalidArgument(
                "compile: metric '\(metric.rawValue)' "
                    + (loss.takesClassIndices
                        ? "compares targets shaped like the output, but \(loss.rawValue) takes class indices"
                        : "takes class indices, which only sparse_categorical_crossentropy's targets are"))
        }
        let objective = Objective(loss: loss, metrics: metrics, metricNames: names)
        self.objective = objective
        parameterStore.optimizer = optimizer
        parameterStore.step = 0
        parameterStore.optimizerLoaded = false
        // Building prepares the optimizer; a model already built is prepared here.
        if isBuilt {
            prepare(objective)
        } else if inputShape != nil {
            try build()
        }
    }

    /// Sizes the optimizer for the built parameters and sets which output layer hands its
    /// loss a logit gradient (only the last, only for a fused sigmoid/softmax cross-entropy).
    private func prepare(_ objective: Objective) {
        self.objective = objective.sized(outputWidth: outputShape?.last ?? 1)
        parameterStore.optimizer?.prepare(parameterCount: parameterCount)
        for (index, layer) in layers.enumerated() {
            guard let output = layer as? any ProbabilityOutputLayer else { continue }
            output.receivesLogitGradient = index == layers.count - 1 && objective.loss.fusedActivation == output.outputActivation
        }
    }

    /// Zeroes the recurrent state of every stateful layer.
    public func resetStates() {
        for layer in layers { layer.resetStates() }
    }

    // MARK: weights

    /// Every parameter tensor, layer by layer in Keras's `get_weights()` order.
    public func weights() throws -> [Tensor] {
        try build()
        return parameterStore.layout.tensors(from: parameterStore.values.pointer)
    }

    /// Replaces every parameter, in `weights()` order (Keras's `set_weights`); checks each shape.
    public func setWeights(_ tensors: [Tensor]) throws {
        try build()
        let specs = layers.flatMap { layer in layer.parameterSpecs.map { (layer.name, $0) } }
        guard specs.count == tensors.count else {
            throw LoomError.invalidArgument("setWeights: the model has \(specs.count) weight tensors, got \(tensors.count)")
        }
        for ((layerName, spec), tensor) in zip(specs, tensors) where spec.shape != tensor.shape {
            throw LoomError.shapeMismatch(
                context: "setWeights, layer '\(layerName)' \(spec.name)", expected: Shape.describe(spec.shape),
                found: tensor.shape)
        }
        for (variable, tensor) in zip(parameterStore.layout.variables, tensors) {
            tensor.scalars.withUnsafeBufferPointer {
                (parameterStore.values.pointer + variable.range.lowerBound).update(from: $0.baseAddress!, count: $0.count)
            }
        }
    }

    /// The gradients of the last training step, in `weights()` order ([] before the model is built).
    public func gradients() -> [Tensor] {
        guard isBuilt else { return [] }
        return parameterStore.layout.tensors(from: parameterStore.gradients.pointer)
    }
}
