/// How Keras 3 lists an optimizer's state among its variables (a `.keras` file's
/// `optimizer/vars/<i>`), after `iteration` and, for a constant rate, `learning_rate`:
/// `buffers` (indices into `stateBuffers`), for every model variable in order, either each
/// variable's slots side by side (`interleaved`: m₀, v₀, m₁, v₁, …, as `add_optimizer_variables`
/// with several names) or slot after slot (m₀, m₁, …, v₀, v₁, …); then `scalars`.
public struct KerasOptimizerState: Sendable {
    /// The state buffers Keras keeps, in its slot order.
    public let buffers: [Int]
    /// Whether each variable's slots are side by side (else slot after slot).
    public let interleaved: Bool
    /// Scalar state Keras keeps as variables after the slots (Nadam's running product).
    public let scalars: [Float]

    /// The layout of an optimizer's state in Keras's variables.
    public init(buffers: [Int], interleaved: Bool = true, scalars: [Float] = []) {
        self.buffers = buffers
        self.interleaved = interleaved
        self.scalars = scalars
    }
}
