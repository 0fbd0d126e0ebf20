/// The names of what a `TrainingSnapshot` holds (its schema; see `TrainingSnapshot` for the
/// meaning of each), written once for saving and restoring, in one process and across ranks.
package enum SnapshotKey {
    /// `floats`: the store's parameters.
    package static let parameters = "parameters"
    /// `floats`: optimizer state buffer `index`.
    package static func optimizerState(_ index: Int) -> String { "optimizer.\(index)" }
    /// The prefix of carried recurrent state in `floats`.
    package static let carriedStatePrefix = "state."
    /// `floats`: the prefix of layer `layer`'s state store `store`, followed by
    /// `<batch size>.<component>`.
    package static func carriedState(layer: Int, store: Int) -> String { "state.\(layer).\(store)." }
    /// `words`: a model layer's dropout generators.
    package static func layerRandom(_ layer: Int) -> String { "random.\(layer)" }
    /// The prefix of every key a data-parallel copy (global shard `s`) owns.
    package static let replicaPrefix = "replica."
    /// `words`: global shard `shard`'s copy of layer `layer`'s dropout generators.
    package static func replicaRandom(shard: Int, layer: Int) -> String { "replica.\(shard).random.\(layer)" }
    /// `floats`: global shard `shard`'s own parameters (parameter averaging).
    package static func replicaParameters(shard: Int) -> String { "replica.\(shard).parameters" }
    /// `floats`: global shard `shard`'s optimizer state buffer `index` (parameter averaging).
    package static func replicaOptimizerState(shard: Int, index: Int) -> String { "replica.\(shard).optimizer.\(index)" }
    /// The prefix of every key of an accumulated update's leaves.
    package static let leafPrefix = "leaf."
    /// `words`: leaf `leaf`'s dropout generators of randomized layer `index` (gradient accumulation).
    package static func leafRandom(leaf: Int, index: Int) -> String { "leaf.\(leaf).random.\(index)" }
    /// `words`: [next epoch, next batch of that epoch, optimizer steps, local steps].
    package static let position = "position"
    /// `words`: the model's generator as it was when the epoch's order was drawn.
    package static let generator = "generator"
    /// `reals`: the learning rate.
    package static let learningRate = "learning_rate"
    /// `reals`: the epoch's running sums and sample count.
    package static let totals = "totals"
    /// The prefix of the history's keys in `reals`.
    package static let historyPrefix = "history."
    /// The prefix of the callbacks' states in `reals`.
    package static let callbackPrefix = "callback."
    /// The prefix of the settings in `texts`.
    package static let settingPrefix = "setting."
}
