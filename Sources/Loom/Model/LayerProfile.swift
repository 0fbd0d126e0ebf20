/// Where one layer's time in a training step goes (`Sequential.profileLayers`): its forward
/// and backward passes, per step, and the floating-point work they do.
public struct LayerProfile: Sendable, Equatable {
    /// The layer's name.
    public let name: String
    /// Its Keras class name.
    public let typeName: String
    /// Seconds per step of the forward pass (training mode).
    public let forwardSeconds: Double
    /// Seconds per step of the backward pass.
    public let backwardSeconds: Double
    /// Floating-point operations of the forward pass on one step's batch (a multiply-add
    /// counts 2): the products of the layer's weights (`FlopCountingLayer`); 0 for a layer
    /// whose work is moving memory (a lookup, pooling, a copy).
    public let forwardFlops: Double
    /// Those of the backward pass: twice the forward products (the weights' gradient repeats
    /// them once, the input's and a recurrent layer's state's gradients together once more),
    /// less the input's for a model's first layer.
    public let backwardFlops: Double

    /// GFLOP/s of the forward pass (0 without FLOPs or time).
    public var forwardGFLOPs: Double { forwardSeconds > 0 ? forwardFlops / forwardSeconds / 1e9 : 0 }
    /// GFLOP/s of the backward pass (0 without FLOPs or time).
    public var backwardGFLOPs: Double { backwardSeconds > 0 ? backwardFlops / backwardSeconds / 1e9 : 0 }
}
