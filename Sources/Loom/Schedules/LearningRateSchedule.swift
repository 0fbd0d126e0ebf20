/// A learning rate that changes with the number of updates taken, as Keras 3's
/// `keras.optimizers.schedules.LearningRateSchedule`: an optimizer given one takes update
/// number t + 1 at `rate(afterSteps: t)`.
///
/// A schedule is a pure function of the update count, so a run resumed from a checkpoint
/// continues on the same rates. Each computes in Float, in Keras's order of operations.
public protocol LearningRateSchedule: Sendable, CustomStringConvertible {
    /// Keras's class name ("CosineDecay").
    var kerasClassName: String { get }
    /// The rate after `step` updates (Keras calls the schedule with `optimizer.iterations`).
    func rate(afterSteps step: Int) -> Float
    /// Keras's `get_config()`, for `.keras` files.
    var kerasConfig: [String: KerasArgument] { get }
    /// The schedule in `LearningRateSchedules.parse`'s syntax (also how a checkpoint names it).
    var description: String { get }
    /// Refuses arguments Keras refuses, or that make a rate that is not finite.
    func check() throws
}

extension LearningRateSchedule {
    /// Arguments in the `name=value` syntax of `description`, in the given order.
    func describe(_ short: String, _ arguments: KeyValuePairs<String, String>) -> String {
        "\(short):" + arguments.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// `step` as Keras casts `optimizer.iterations` to the rate's type.
    func float(_ step: Int) -> Float { Float(step) }
}

/// Checks shared by the schedules.
enum ScheduleCheck {
    /// Refuses a rate that is not finite.
    static func rate(_ value: Float, _ name: String, in schedule: String) throws {
        guard value.isFinite else {
            throw LoomError.invalidArgument("\(schedule): \(name) must be a finite number, got \(value)")
        }
    }

    /// Refuses a step count below 1, as Keras does ("must be > 0").
    static func steps(_ value: Int, _ name: String, in schedule: String) throws {
        guard value > 0 else { throw LoomError.invalidArgument("\(schedule): \(name) must be > 0, got \(value)") }
    }
}
