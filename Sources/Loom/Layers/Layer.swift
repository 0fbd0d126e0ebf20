/// One parameter tensor a layer asks for: its Keras name, shape and initial values.
public struct ParameterSpec: Sendable {
    /// Keras's variable name: "kernel", "recurrent_kernel", "bias".
    public let name: String
    /// The dimensions, in Keras's layout: `(inputDim, units)` for a Dense kernel, `(units)` for its bias.
    public let shape: [Int]
    /// Fills the parameter's first values when the model builds.
    public let initializer: Initializer

    /// Describes one parameter; a layer lists these in `parameterSpecs`, in Keras's weight order.
    public init(name: String, shape: [Int], initializer: Initializer) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
    }

    /// The number of scalars, `shape.reduce(1, *)`: the parameter's length in the flat buffers.
    public var count: Int { Shape.count(shape) }
}

/// Where a layer's parameters live in the model's flat buffers, as seen by one replica.
///
/// The model keeps every parameter in one contiguous `values` buffer (read-only to layers:
/// the optimizer writes it) and every gradient in a `gradients` buffer of the same layout.
/// A layer's parameters follow each other in the order of its `parameterSpecs`, starting at
/// `offset`.
public struct ParameterBinding {
    /// The start of the whole flat parameter buffer (of the model or a replica), not of this layer's slice.
    public let values: UnsafePointer<Float>
    /// The start of the flat gradient buffer, laid out as `values`; `backward` adds into it.
    public let gradients: UnsafeMutablePointer<Float>
    /// The index of the layer's first scalar in both buffers.
    public let offset: Int
    /// Where a layer bound directly by a replica (or through a `TimeDistributed`, which passes
    /// its binding on) may say, during its backward pass, that its gradients from an index on
    /// are final (`GradientProgress`); one that only polls for the layers inside a
    /// `Bidirectional`, whose gradients above theirs may still change; nil for the model's
    /// own layers.
    let progress: GradientProgress?

    /// Binds a layer's parameters from `offset` on in `values` and `gradients`.
    public init(values: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>, offset: Int) {
        self.init(values: values, gradients: gradients, offset: offset, progress: nil)
    }

    /// A binding whose layer tells `progress` when part of its gradients is final.
    init(values: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>, offset: Int, progress: GradientProgress?) {
        self.values = values
        self.gradients = gradients
        self.offset = offset
        self.progress = progress
    }

    /// The value and gradient pointers of the parameter `index` of `specs`.
    public func slot(_ index: Int, of specs: [ParameterSpec]) -> (value: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) {
        let start = offset + specs[..<index].reduce(0) { $0 + $1.count }
        return (values + start, gradients + start)
    }
}

/// The rows of a step's whole batch that one data-parallel shard runs: from `offset` on, of
/// `batchSize` rows in all (a shard's batch says how many). A stateful layer uses it to carry
/// the state of exactly its rows.
public struct ShardRows: Equatable, Sendable {
    /// The index, in the whole batch, of the shard's first row.
    public let offset: Int
    /// The row count of the whole batch (not of the shard): the batch size the carried state is kept for.
    public let batchSize: Int

    /// The rows from `offset` on of a whole batch of `batchSize` rows.
    public init(offset: Int, batchSize: Int) {
        self.offset = offset
        self.batchSize = batchSize
    }
}

/// A layer of a `Sequential` model.
///
/// Shapes passed to `build` are per sample (no batch dimension), Keras-style. `forward` and
/// `backward` work on contiguous row-major buffers of `batch` samples: the layer owns its
/// output and input-gradient buffers (sized once per batch size) and returns pointers into
/// them, valid until its next call. `backward` *adds* parameter gradients into the bound
/// gradient buffer (the model zeroes it once per step), into the layer's own parameters'
/// slots only, and those are final once it returns (across processes they leave for the
/// exchange while the layers below run their backward passes); it may overwrite
/// `outputGradient`.
/// A pass may cover part of a batch: a shard's rows go through the layers in blocks of up to
/// 128 rows, each block's forward followed by its backward, so a layer's rows must not depend
/// on each other (no statistics over the batch).
public protocol Layer: AnyObject {
    /// The layer's name in summaries and weight files ("lstm", "dense_1"); empty until the
    /// model names it.
    var name: String { get set }
    /// Keras's class name ("LSTM", "Dense").
    var typeName: String { get }
    /// Checks the per-sample input shape and returns the per-sample output shape.
    func build(inputShape: [Int]) throws -> [Int]
    /// The parameters this layer needs once built, in Keras's weight order.
    var parameterSpecs: [ParameterSpec] { get }
    /// Points the layer at its parameters and gradients.
    func bind(_ binding: ParameterBinding)
    /// Runs `batch` samples of the built input shape; returns the output.
    func forward(_ input: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float>
    /// Backpropagates the last `forward` (which must have had `training: true`), once: it may
    /// overwrite what the forward pass kept (an LSTM writes its gate gradients over its gate
    /// values). Returns dL/dinput, or nil when `needsInputGradient` is false (the first layer).
    func backward(
        _ outputGradient: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool
    ) -> UnsafeMutablePointer<Float>?
    /// A copy with the same configuration and binding but its own workspaces and state,
    /// for another worker thread.
    func makeReplica() -> any Layer
    /// Zeroes recurrent state (stateful layers); others do nothing.
    func resetStates()
    /// Tells a replica which rows of the whole batch its batches are (nil: all of them).
    func assign(rows: ShardRows?)
    /// Whether the layer keeps state across batches and so needs a fixed batch size.
    var isStateful: Bool { get }
    /// Checks the values of a batch before it runs, for a first layer that needs more than
    /// finite numbers (`Embedding`'s indices); `rows` are the batch's sample numbers, for the
    /// message. The model calls it on its first layer only.
    func checkInput(_ input: UnsafePointer<Float>, rows: ArraySlice<Int>) throws
    /// Whether the layer's input must pass its `checkInput` to be safe to run (`Embedding`'s
    /// indices), so that it can only be a model's first layer, unwrapped.
    var needsCheckedInput: Bool { get }
}

extension Layer {
    /// None: the default for layers without weights (Flatten, Dropout, ...).
    public var parameterSpecs: [ParameterSpec] { [] }
    /// Does nothing: the default for layers without parameters.
    public func bind(_ binding: ParameterBinding) {}
    /// Does nothing: the default for layers without state.
    public func resetStates() {}
    /// Ignores the rows: the default for layers without state.
    public func assign(rows: ShardRows?) {}
    /// False: the default; only stateful recurrent layers (and their wrappers) keep state.
    public var isStateful: Bool { false }
    /// Accepts every batch: the default for layers that take any finite value.
    public func checkInput(_ input: UnsafePointer<Float>, rows: ArraySlice<Int>) throws {}
    /// False: the default; only layers that read indices (`Embedding`) need their input checked.
    public var needsCheckedInput: Bool { false }

    /// The refusal of a layer that `needsCheckedInput` anywhere the model cannot check it.
    func uncheckedInputError() -> LoomError {
        .invalidArgument("\(typeName) '\(name)' must be the model's first layer, unwrapped: it reads indices from the data")
    }
    /// The number of scalars over all the layer's parameters.
    public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.count } }
}

/// A layer that draws random numbers while training (dropout masks). The model seeds it from
/// its own seed and the layer's position when it builds, so the same seed gives the same masks.
protocol RandomizedLayer: Layer {
    func seed(_ seed: UInt64)
    /// The words of every generator the layer draws from (its own, then its inner layers'),
    /// four per generator: setting words read from a layer of the same configuration
    /// continues its sequences exactly (checkpoints keep them).
    var randomState: [UInt64] { get set }
}

/// A layer that carries recurrent state from batch to batch: the stores (one per recurrent
/// layer inside it) a checkpoint keeps.
protocol StateCarryingLayer: Layer {
    var stateStores: [RecurrentStateStore] { get }
    /// Whether passes carry the state over (`RecurrentSequence.carriesState`): set while a
    /// truncated-BPTT fit runs, else the layer's `stateful`.
    var carriesState: Bool { get set }
    /// Whether each pass's final state is kept for the caller (`LSTM.lastState`, with
    /// `returnState`): such a pass must cover the whole batch, not a block of it.
    var keepsLastState: Bool { get }
}

extension StateCarryingLayer {
    /// None kept, by default.
    var keepsLastState: Bool { false }
}

/// A layer whose output may be a probability (sigmoid or softmax) that a cross-entropy loss
/// differentiates through in one stable step, as Keras does: the loss hands back
/// dL/dlogits = (p − y)/n and the layer skips its own activation's derivative.
public protocol ProbabilityOutputLayer: Layer {
    /// The activation applied to the output; a cross-entropy loss fuses with `.sigmoid` or `.softmax`.
    var outputActivation: Activation { get }
    /// When set, `backward` takes dL/dlogits and `forward` keeps the logits.
    var receivesLogitGradient: Bool { get set }
    /// The pre-activation outputs of the last forward pass, while `receivesLogitGradient`.
    var logits: UnsafePointer<Float>? { get }
}
