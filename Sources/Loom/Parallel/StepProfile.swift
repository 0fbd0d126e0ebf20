/// Where the time of a training step went, in seconds per step, averaged over the steps of
/// the last `fit` and over the workers.
public struct StepProfile: Sendable, Equatable {
    /// The steps measured.
    public var steps = 0
    /// Forward and backward passes of the worker's shards.
    public var compute = 0.0
    /// Waiting at the barrier for the slowest worker.
    public var wait = 0.0
    /// Summing the shards' gradients (or averaging parameters) over the worker's slice (with
    /// an overlapped exchange, each bucket's sum is part of `compute`).
    public var reduce = 0.0
    /// The optimizer update of the worker's slice.
    public var optimizer = 0.0
    /// With other processes: worker 0's messages to and from them once the backward passes
    /// have ended (the whole exchange, or, overlapped, what is left of it), counted once a
    /// step, not per worker.
    public var communicate = 0.0
    /// With an exchange overlapped with the backward passes: the time its sums were in flight
    /// while the passes ran (each sum from its start to when worker 0 saw it end, or to the
    /// end of the passes), hidden from the step.
    public var hiddenExchange = 0.0
    /// With an overlapped exchange: its buckets, from the top of the parameters down.
    public var exchangeBuckets: [ExchangeBucket] = []
    /// The part of `communicate` spent waiting for the slowest rank to reach the exchange:
    /// the slowest rank's time from the step's start to the exchange less this rank's.
    public var rankWait = 0.0
    /// The whole step as the calling thread saw it (data loading included).
    public var total = 0.0

    /// The part of `communicate` not spent waiting for the slowest rank: the exchange itself.
    public var exposedExchange: Double { max(0, communicate - rankWait) }

    /// A profile of no steps.
    public init() {}
}
