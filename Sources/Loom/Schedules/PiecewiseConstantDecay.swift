/// Keras's `PiecewiseConstantDecay`: `values[0]` while step ≤ `boundaries[0]`, `values[i]`
/// while `boundaries[i-1]` < step ≤ `boundaries[i]`, the last value after the last boundary.
public struct PiecewiseConstantDecay: LearningRateSchedule {
    /// The update counts where the rate changes, increasing.
    public let boundaries: [Int]
    /// The rate of each interval, one more than `boundaries`.
    public let values: [Float]

    /// One more value than boundaries, as Keras requires.
    public init(boundaries: [Int], values: [Float]) {
        self.boundaries = boundaries
        self.values = values
    }

    /// Keras's class name.
    public var kerasClassName: String { "PiecewiseConstantDecay" }

    /// The rate of the update that follows `step` updates.
    public func rate(afterSteps step: Int) -> Float {
        for (index, boundary) in boundaries.enumerated() where step <= boundary { return values[index] }
        return values[values.count - 1]
    }

    /// Keras's `get_config()`.
    public var kerasConfig: [String: KerasArgument] {
        ["boundaries": .integers(boundaries), "values": .numbers(values.map(Double.init))]
    }

    /// The schedule in `LearningRateSchedules.parse`'s syntax.
    public var description: String {
        describe(
            "piecewise",
            [
                "boundaries": boundaries.map(String.init).joined(separator: "/"),
                "values": values.map { "\($0)" }.joined(separator: "/"),
            ])
    }

    /// Refuses arguments Keras refuses and rates that are not finite.
    public func check() throws {
        guard boundaries.count == values.count - 1 else {
            throw LoomError.invalidArgument(
                "PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of values; got "
                    + "\(boundaries.count) boundaries and \(values.count) values")
        }
        guard zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw LoomError.invalidArgument("PiecewiseConstantDecay: boundaries must increase, got \(boundaries)")
        }
        for value in values { try ScheduleCheck.rate(value, "every value", in: kerasClassName) }
    }
}
