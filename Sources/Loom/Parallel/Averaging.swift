/// How data-parallel workers combine their work.
public enum Averaging: Equatable, Sendable {
    /// Average the shards' gradients every step, then take one optimizer step: the same model
    /// as training on the whole batch (the default).
    case gradients
    /// Each replica takes `every` optimizer steps on its own parameters and optimizer state,
    /// then parameters and optimizer state are averaged across replicas (Deeplearning4j's
    /// ParallelWrapper with `averagingFrequency`). Fewer synchronisations, a different model.
    case parameters(every: Int)
}
