/// One argument of a Keras object's config (`get_config()`) that Loom writes or reads: a
/// schedule's or an optimizer's. Numbers are written as JSON floats (`0.0`, never `0`: Keras
/// computes a schedule in its initial rate's type), counts as integers.
public enum KerasArgument: Equatable, Sendable {
    case number(Double)
    case numbers([Double])
    case integer(Int)
    case integers([Int])
    case flag(Bool)
    /// JSON's null.
    case absent
}
