import Loom

/// A Loom layer as Keras interchange reads and writes it: its Keras class name, its config
/// in and out, and a small model holding it (the example `KerasLayerKindTests` round-trips).
/// Each layer's conformance is in its own file here; `KerasLayerKind` lists them.
protocol KerasLayer: Layer {
    /// Keras's class name, as `class_name` in a config.
    static var kerasClassName: String { get }
    /// The layer a Keras config describes (Keras 3's or Keras 2's, as `decoder` says), every
    /// option read from `config` (`LayerConfig.finish` refuses the rest).
    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Self
    /// Writes the layer's options into `config` (which holds its name, `trainable` and
    /// `dtype`), as Keras 3 serializes them, or Keras 2 for a `.h5` file (`keras2`).
    func encode(into config: inout [String: Any], keras2: Bool) throws
    /// A small model holding the layer, for the interchange round trip and the gradient check
    /// of every kind: a layer without weights follows one with weights, so that the check
    /// reaches its backward pass.
    static var kerasExample: Sequential { get }
}
