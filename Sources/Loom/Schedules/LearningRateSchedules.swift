/// Learning-rate schedules by name, in a plain syntax for the command line and checkpoints:
/// `kind:name=value,...` (lists separated by `/`), for example
///
///     cosine:decay-steps=20000,warmup-steps=500,warmup-target=0.01
///     exponential:decay-steps=1000,decay-rate=0.96,staircase=true
///     piecewise:boundaries=1000/2000,values=0.01/0.005/0.001
///     polynomial:decay-steps=10000,end=0.0001,power=1,cycle=false
///     inverse-time:decay-steps=1000,decay-rate=0.5
///     cosine-restarts:first-decay-steps=1000,t-mul=2,m-mul=1,alpha=0
///
/// `initial` sets the initial rate (default: the rate given beside the text, `--lr`);
/// unknown kinds, names and values are refused by name.
public enum LearningRateSchedules {
    /// The kinds `parse` knows, in the order the help lists them.
    public static let kinds = ["exponential", "piecewise", "polynomial", "inverse-time", "cosine", "cosine-restarts"]

    /// The names each kind takes.
    static let names: [String: [String]] = [
        "exponential": ["initial", "decay-steps", "decay-rate", "staircase"],
        "inverse-time": ["initial", "decay-steps", "decay-rate", "staircase"],
        "piecewise": ["boundaries", "values"],
        "polynomial": ["initial", "decay-steps", "end", "power", "cycle"],
        "cosine": ["initial", "decay-steps", "alpha", "warmup-target", "warmup-steps"],
        "cosine-restarts": ["initial", "first-decay-steps", "t-mul", "m-mul", "alpha"],
    ]

    /// Parses `text`; `initialLearningRate` is the initial rate unless the text sets `initial`.
    public static func parse(_ text: String, initialLearningRate: Float) throws -> any LearningRateSchedule {
        let kind = String(text.prefix { $0 != ":" })
        let arguments = try KerasArguments(text: String(text.dropFirst(kind.count + 1)), schedule: kind)
        if let names = names[kind] { try arguments.refuseOthers(than: names) }
        let initial = try arguments.float("initial") ?? initialLearningRate
        let schedule: any LearningRateSchedule
        switch kind {
        case "exponential":
            schedule = ExponentialDecay(
                initialLearningRate: initial, decaySteps: try arguments.required("decay-steps", arguments.integer),
                decayRate: try arguments.required("decay-rate", arguments.float),
                staircase: try arguments.flag("staircase") ?? false)
        case "inverse-time":
            schedule = InverseTimeDecay(
                initialLearningRate: initial, decaySteps: try arguments.required("decay-steps", arguments.integer),
                decayRate: try arguments.required("decay-rate", arguments.float),
                staircase: try arguments.flag("staircase") ?? false)
        case "piecewise":
            schedule = PiecewiseConstantDecay(
                boundaries: try arguments.required("boundaries", arguments.integers),
                values: try arguments.required("values", arguments.floats))
        case "polynomial":
            schedule = PolynomialDecay(
                initialLearningRate: initial, decaySteps: try arguments.required("decay-steps", arguments.integer),
                endLearningRate: try arguments.float("end") ?? 0.0001, power: try arguments.float("power") ?? 1,
                cycle: try arguments.flag("cycle") ?? false)
        case "cosine":
            schedule = CosineDecay(
                initialLearningRate: initial, decaySteps: try arguments.required("decay-steps", arguments.integer),
                alpha: try arguments.float("alpha") ?? 0, warmupTarget: try arguments.float("warmup-target"),
                warmupSteps: try arguments.integer("warmup-steps") ?? 0)
        case "cosine-restarts":
            schedule = CosineDecayRestarts(
                initialLearningRate: initial,
                firstDecaySteps: try arguments.required("first-decay-steps", arguments.integer),
                tMul: try arguments.float("t-mul") ?? 2, mMul: try arguments.float("m-mul") ?? 1,
                alpha: try arguments.float("alpha") ?? 0)
        default:
            throw LoomError.invalidArgument(
                "unknown learning-rate schedule '\(kind)'; expected \(kinds.joined(separator: ", ")) "
                    + "(as kind:name=value,...)")
        }
        try schedule.check()
        return schedule
    }
}

/// The `name=value` pairs of a schedule's text, each taken once.
private final class KerasArguments {
    let schedule: String
    private var values: [String: String] = [:]
    private var order: [String] = []

    init(text: String, schedule: String) throws {
        self.schedule = schedule
        for pair in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw LoomError.invalidArgument("schedule '\(schedule)': '\(pair)' is not name=value")
            }
            guard values[parts[0]] == nil else {
                throw LoomError.invalidArgument("schedule '\(schedule)': '\(parts[0])' is given twice")
            }
            values[parts[0]] = parts[1]
            order.append(parts[0])
        }
    }

    func take(_ name: String) -> String? { values.removeValue(forKey: name) }

    /// Refuses a name not among `names`, saying which it takes.
    func refuseOthers(than names: [String]) throws {
        let unknown = order.filter { !names.contains($0) }
        guard unknown.isEmpty else {
            throw LoomError.invalidArgument(
                "schedule '\(schedule)' has no argument \(unknown.map { "'\($0)'" }.joined(separator: ", ")) "
                    + "(it takes \(names.joined(separator: ", ")))")
        }
    }

    func refuse(_ name: String, _ text: String, _ what: String) -> LoomError {
        LoomError.invalidArgument("schedule '\(schedule)': \(name)=\(text) is not \(what)")
    }

    func required<T>(_ name: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(name) else {
            throw LoomError.invalidArgument("schedule '\(schedule)' needs \(name)=...")
        }
        return value
    }

    func float(_ name: String) throws -> Float? {
        guard let text = take(name) else { return nil }
        if text == "none" { return nil }
        guard let value = Float(text), value.isFinite else { throw refuse(name, text, "a finite number") }
        return value
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = take(name) else { return nil }
        guard let value = Int(text) else { throw refuse(name, text, "a whole number") }
        return value
    }

    func flag(_ name: String) throws -> Bool? {
        guard let text = take(name) else { return nil }
        guard let value = Bool(text) else { throw refuse(name, text, "true or false") }
        return value
    }

    func floats(_ name: String) throws -> [Float]? {
        guard let text = take(name) else { return nil }
        let values = text.split(separator: "/").map { Float($0) }
        guard !values.isEmpty, values.allSatisfy({ $0?.isFinite == true }) else {
            throw refuse(name, text, "numbers separated by /")
        }
        return values.map { $0! }
    }

    func integers(_ name: String) throws -> [Int]? {
        guard let text = take(name) else { return nil }
        let values = text.split(separator: "/").map { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw refuse(name, text, "whole numbers separated by /")
        }
        return values.map { $0! }
    }
}
