/// A recurrent layer that `Bidirectional` can wrap (`LSTM`, `GRU`, `SimpleRNN`): per-sample
/// input `(timesteps, features)`, output `(units)` or, with `returnSequences`,
/// `(timesteps, units)`.
///
/// With a mask (`MaskAwareLayer`), a masked step leaves a row's state as it was; the output
/// there repeats the last valid output (zeros before the first) or, with
/// `zeroOutputForMask`, is zero. The output keeps the mask with `returnSequences` and ends it
/// without.
public protocol RecurrentLayer: MaskAwareLayer {
    /// The size of the hidden state (and of the output at each step).
    var units: Int { get }
    /// Outputs every step, `(timesteps, units)`, rather than the last, `(units)`.
    var returnSequences: Bool { get }
    /// Reads the sequence from last to first.
    var goBackwards: Bool { get }
    /// Carries each row's final state into the same row of the next batch.
    var stateful: Bool { get }
    /// Keras's `zero_output_for_mask`: masked steps output zeros (default false; a
    /// `Bidirectional` sets it to `returnSequences` on both its layers, as Keras does).
    var zeroOutputForMask: Bool { get set }
    /// A new, unbuilt, unnamed layer with this one's configuration that reads the sequence
    /// the other way (Keras's default backward layer of a `Bidirectional`).
    func reversedCopy() -> any RecurrentLayer
    /// `makeReplica()`, typed for wrappers.
    func makeRecurrentReplica() -> any RecurrentLayer
}

extension RecurrentLayer {
    /// `makeRecurrentReplica()`, as a plain `Layer`.
    public func makeReplica() -> any Layer { makeRecurrentReplica() }
    /// `stateful`: a recurrent layer keeps state exactly when it is configured to.
    public var isStateful: Bool { stateful }
    /// A returned sequence keeps the input's mask; a last output has none.
    public func masksOutput(inputMasked: Bool) -> Bool { inputMasked && returnSequences }
}
