/// A layer that reads, makes or passes on a timestep mask, as a Keras layer with
/// `supports_masking`.
///
/// A mask is `(batch, timesteps)` row-major, one value a sample's timestep: 1 for a step that
/// counts, 0 for padding. It is made by `Masking` or `Embedding(maskZero: true)`, skipped over
/// by the recurrent layers (a masked step keeps the state), passed on unchanged by `Dense`,
/// `Dropout` and `TimeDistributed`, and, when it reaches the model's output, weights the loss
/// and metrics (a mean over the valid entries). A layer that is not `MaskAware` ends it, as
/// Keras's layers without mask support do (`Flatten`, `RepeatVector`, `Conv2D`). A mask
/// buffer belongs to the layer that made it and is valid until that layer's next forward
/// pass; nobody else writes it.
public protocol MaskAwareLayer: Layer {
    /// `forward` with the input's mask (nil: none); returns the output and the output's mask
    /// (nil: none). `backward` then backpropagates this pass, mask included.
    func forward(
        _ input: UnsafePointer<Float>, mask: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?)
    /// Whether the output carries a mask when the input does (`inputMasked`) or not, known
    /// before any pass (Keras's `compute_mask`): what `forward(_:mask:...)` will return.
    func masksOutput(inputMasked: Bool) -> Bool
}

/// A layer that leaves the timesteps where they are and so passes its input's mask on, the
/// computation unchanged (Keras's `Dense`, `Dropout` and `TimeDistributed`; a custom layer
/// of that kind may adopt it too).
public protocol MaskPassingLayer: MaskAwareLayer {}

extension MaskPassingLayer {
    /// The ordinary forward pass; the output carries the input's mask.
    public func forward(
        _ input: UnsafePointer<Float>, mask: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?) {
        (forward(input, batch: batch, training: training), mask)
    }

    /// Whether the input is masked: the mask passes on.
    public func masksOutput(inputMasked: Bool) -> Bool { inputMasked }
}
