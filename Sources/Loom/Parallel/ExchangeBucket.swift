/// One bucket of an exchange overlapped with the backward pass, as a `StepProfile` reports
/// it: its floats, and how long before the end of the step's backward passes it was ready to
/// leave (summed over the local shards), in seconds a step.
public struct ExchangeBucket: Sendable, Equatable {
    /// The gradients it carries.
    public var floats: Int
    /// Seconds from its being ready to the end of the backward passes.
    public var lead: Double

    /// A bucket of `floats` ready `lead` seconds before the end.
    public init(floats: Int, lead: Double) {
        self.floats = floats
        self.lead = lead
    }
}
