import Foundation

/// The memory a training run needs, checked against what this process may use before any
/// of it is allocated: a model whose parameters fit Loom's limit may still not train here.
extension Sequential {
    /// What this process may use: the lowest memory limit of its cgroup and the cgroup's
    /// ancestors (`memory.max` of cgroup v2, `memory.limit_in_bytes` of v1, found through
    /// `/proc/self/cgroup`) when one is set below the machine's memory, else the machine's;
    /// with the limit's source, for messages.
    public static var memoryLimit: (bytes: UInt64, source: String) {
        var best = (bytes: ProcessInfo.processInfo.physicalMemory, source: "this machine's memory")
        let lines = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8))?.split(separator: "\n") ?? []
        var files: [String] = []
        for line in lines {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            var path = String(fields[2])
            let locations: [(String, String)]
            if fields[1].isEmpty {
                locations = [("/sys/fs/cgroup", "memory.max"), ("/sys/fs/cgroup/unified", "memory.max")]
            } else if fields[1].split(separator: ",").contains("memory") {
                locations = [("/sys/fs/cgroup/memory", "memory.limit_in_bytes")]
            } else {
                continue
            }
            while true {
                for (root, name) in locations { files.append("\(root)\(path == "/" ? "" : path)/\(name)") }
                guard path != "/", !path.isEmpty else { break }
                path = (path as NSString).deletingLastPathComponent
            }
        }
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let limit = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit < best.bytes
            else { continue }
            best = (limit, "the memory limit of this process's cgroup (\(file))")
        }
        return best
    }

    /// Refuses a training run that cannot fit in `memoryLimit`, before anything is allocated
    /// for it: the parameters, their gradients and `optimizerStates` arrays of optimizer
    /// state; per extra worker a gradient (and with parameter averaging its own parameters
    /// and optimizer state); an exchange buffer across processes; a batch's layer outputs and
    /// their gradients (with `chunkTimesteps`, truncated BPTT's chunk length, those of a chunk:
    /// an output over the input's timesteps counts that many); all of it times the
    /// `processesOnHost` ranks sharing this machine. `FitPlan` calls it; the CLI calls it
    /// before `compile`, to refuse before the optimizer's state is allocated. The model must
    /// be built.
    package func checkTrainingMemory(
        batchSize: Int, workers: Int = 1, averaging: Averaging = .gradients, optimizerStates: Int,
        processes: Int = 1, processesOnHost: Int = 1, chunkTimesteps: Int? = nil
    ) throws {
        guard isBuilt else { throw LoomError.notReady("model '\(name)' is not built: give it an input shape first") }
        var arrays = 2 + optimizerStates + max(workers - 1, 0)
        if case .parameters = averaging { arrays += max(workers - 1, 0) * (1 + optimizerStates) }
        if processes > 1 { arrays += 1 }
        let timesteps = inputShape?.first
        let outputs = outputShapes.map { shape in
            guard let chunkTimesteps, let timesteps, shape.first == timesteps else { return shape }
            return [chunkTimesteps] + shape.dropFirst()
        }
        let activations = outputs.reduce(0.0) { $0 + Double(Shape.checkedCount($1) ?? Int.max) } * 2 * Double(batchSize)
        let bytes = (Double(parameterCount) * Double(arrays) + activations) * 4 * Double(max(processesOnHost, 1))
        let ranks = processesOnHost > 1 ? ", for each of the \(processesOnHost) processes on this host" : ""
        try Sequential.checkMemory(
            bytes: bytes, for: "training model '\(name)'",
            what: "\(parameterCount) parameters held \(arrays) times: weights, gradients, optimizer state and workers' "
                + "copies; a batch of \(batchSize) samples' layer outputs\(ranks)")
    }

    /// Refuses `bytes` that `memoryLimit` cannot hold, for `subject` ("training model 'm'"),
    /// saying what they are made of.
    static func checkMemory(bytes: Double, for subject: String, what: String) throws {
        let (limit, source) = Sequential.memoryLimit
        guard bytes > Double(limit) else { return }
        func gibibytes(_ value: Double) -> String { String(format: "%.1f GiB", value / Double(1 << 30)) }
        throw LoomError.invalidArgument(
            "\(subject) needs about \(gibibytes(bytes)) (\(what)), more than the \(gibibytes(Double(limit))) of \(source); "
                + "use a smaller model, batch or fewer workers")
    }
}
