/// The seconds each layer of a replica spent in its forward and its backward passes, summed
/// over the steps timed (`Sequential.profileLayers`); one writer, the replica's thread.
final class LayerSeconds {
    /// By layer index.
    var forward: [Double]
    var backward: [Double]

    init(layers: Int) {
        forward = Array(repeating: 0, count: layers)
        backward = Array(repeating: 0, count: layers)
    }
}
