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

    /// Refuses a rate that is not a finite number >= 0 after any of `steps` (arguments that
    /// Keras takes but that go negative or NaN, such as a negative decay rate): a fit checks
    /// the updates it will take before the first.
    func checkRates(after steps: Range<Int>) throws {
        for step in steps {
            let rate = rate(afterSteps: step)
            guard rate.isFinite, rate >= 0 else {
                throw LoomError.invalidArgument(
                    "the learning-rate schedule \(description) gives update \(step + 1) the rate \(rate); "
                        + "a rate must be a finite number >= 0 (checked before the first update)")
            }
        }
    }
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
