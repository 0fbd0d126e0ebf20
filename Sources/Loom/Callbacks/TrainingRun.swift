import Foundation
import Logging

/// One `fit` call as its callbacks see it: the model, where training stands, the learning
/// rate, the history so far, and the whole state of the run as a `TrainingSnapshot`.
///
/// Position: `epoch` is the epoch being trained (or, between epochs, the next one) and
/// `batch` the number of its batches finished; a snapshot taken now continues from there.
public final class TrainingRun {
    /// The model being trained.
    public let model: Sequential
    /// The epochs `fit` was asked for (a resumed run ends at the same count).
    public let epochs: Int
    /// Set to end training after the current batch (Keras's `model.stop_training`).
    public var stopTraining = false
    /// Whether training was interrupted (`interrupt()`, for a signal) rather than finished
    /// or stopped by a rule: `BackupAndRestore` then keeps its checkpoint.
    public private(set) var interrupted = false
    /// The epoch being trained, or between epochs the next one (counted from 0).
    public internal(set) var epoch = 0
    /// Batches of `epoch` finished.
    public internal(set) var batch = 0
    /// The losses and metrics of the finished epochs.
    public internal(set) var history = History()
    /// What decides the run's bits besides the data's values (the model's layout, the batch
    /// size, the shards, ...): a snapshot taken under other settings is refused by `restore`.
    /// A caller may add its own (a data file's name) before training starts.
    public var settings: [String: String]
    /// Whether `restore` takes a snapshot of another global shard count (set before training
    /// starts, as `BackupAndRestore(reshard:)` does): the shards' own state (dropout streams,
    /// accumulated leaves) starts afresh, and the run, though it continues, no longer has the
    /// bits of an uninterrupted one. Not with parameter averaging (each shard's own weights).
    public var allowsResharding = false

    let engine: TrainingEngine
    let callbacks: [any Callback]
    /// The epoch's running loss and metric sums.
    var totals: RunningTotals
    /// The model's generator as it was before the current epoch's order was drawn.
    var epochGenerator: SeededGenerator

    init(model: Sequential, epochs: Int, engine: TrainingEngine, callbacks: [any Callback], settings: [String: String]) {
        self.model = model
        self.epochs = epochs
        self.engine = engine
        self.callbacks = callbacks
        self.settings = settings
        totals = RunningTotals(objective: model.objective!)
        epochGenerator = model.generator
    }

    /// Stops training after the current batch as interrupted (see `interrupted`).
    public func interrupt() {
        stopTraining = true
        interrupted = true
    }

    /// The optimizer's learning rate; a change applies from the next step. With a schedule
    /// the rate is the schedule's (callbacks that set it are refused when training begins).
    public var learningRate: Float {
        get { model.parameterStore.optimizer!.learningRate }
        set { model.parameterStore.optimizer!.learningRate = newValue }
    }

    /// Refuses `callback`, which sets the learning rate, when the optimizer's rate follows a
    /// schedule (as Keras refuses to set such a rate).
    public func checkLearningRateIsSettable(by callback: String) throws {
        guard let schedule = model.parameterStore.optimizer!.schedule else { return }
        throw LoomError.invalidArgument(
            "\(callback) sets the learning rate, but the optimizer's rate follows a schedule (\(schedule.kerasClassName)) "
                + "and cannot be set; give the optimizer a constant rate to use \(callback)")
    }

    /// Optimizer steps taken since `compile`.
    public var step: Int { model.parameterStore.step }

    // MARK: snapshots

    /// The processes training together (this one alone without `mpirun`).
    public var processGroup: any ProcessGroup { engine.replicas.group }

    /// The whole state of the run at this point (see `TrainingSnapshot` for what it holds).
    /// With other processes every rank calls it at the same point: each adds its replicas'
    /// state and its rows of the carried recurrent state, and every rank gets the whole.
    public func snapshot() throws -> TrainingSnapshot {
        var snapshot = localSnapshot()
        let group = processGroup
        guard group.size > 1 else { return snapshot }
        let all = try group.allGather(snapshot.encoded()).map { try TrainingSnapshot(encoded: $0) }
        for (rank, other) in all.enumerated() where rank != group.rank {
            // Each rank's copies and leaves are its own (keyed by their global index).
            let owned = { (name: String) in name.hasPrefix(SnapshotKey.replicaPrefix) || name.hasPrefix(SnapshotKey.leafPrefix) }
            for (name, values) in other.words where owned(name) { snapshot.words[name] = values }
            for (name, values) in other.floats where owned(name) { snapshot.floats[name] = values }
            for (name, values) in other.floats where name.hasPrefix(SnapshotKey.carriedStatePrefix) {
                // state.<layer>.<store>.<batch size>.<component>: the rows that rank carries.
                let parts = name.split(separator: ".")
                guard parts.count == 5, let batch = Int(parts[3]), batch > 0, var merged = snapshot.floats[name],
                    merged.count == values.count
                else { continue }
                let width = values.count / batch
                let rows = engine.replicas.rows(ofRank: rank, batch: batch)
                for k in (rows.lowerBound * width)..<(rows.upperBound * width) { merged[k] = values[k] }
                snapshot.floats[name] = merged
            }
        }
        return snapshot
    }

    /// This process's part of `snapshot()`.
    private func localSnapshot() -> TrainingSnapshot {
        var snapshot = TrainingSnapshot()
        let store = model.parameterStore
        snapshot.floats[SnapshotKey.parameters] = TrainingRun.array(store.values.pointer, store.count)
        for (index, buffer) in store.optimizer!.stateBuffers(sizedFor: store.count) {
            snapshot.floats[SnapshotKey.optimizerState(index)] = TrainingRun.array(buffer.pointer, store.count)
        }
        for (layerIndex, layer) in model.layers.enumerated() {
            for (storeIndex, states) in ((layer as? any StateCarryingLayer)?.stateStores ?? []).enumerated() {
                for entry in states.entries {
                    for (component, values) in entry.values.enumerated() {
                        snapshot.floats[
                            SnapshotKey.carriedState(layer: layerIndex, store: storeIndex) + "\(entry.batchSize).\(component)"] = values
                    }
                }
            }
            if let randomized = layer as? any RandomizedLayer {
                snapshot.words[SnapshotKey.layerRandom(layerIndex)] = randomized.randomState
            }
        }
        engine.save(into: &snapshot)
        snapshot.words[SnapshotKey.position] = [UInt64(epoch), UInt64(batch), UInt64(store.step), UInt64(engine.localSteps)]
        snapshot.words[SnapshotKey.generator] = epochGenerator.state
        snapshot.reals[SnapshotKey.learningRate] = [Double(learningRate)]
        snapshot.reals[SnapshotKey.totals] = totals.values
        for (key, values) in history.history { snapshot.reals[SnapshotKey.historyPrefix + key] = values }
        for (key, callback) in callbackKeys() { snapshot.reals[SnapshotKey.callbackPrefix + key] = callback.checkpointState }
        for (name, value) in settings { snapshot.texts[SnapshotKey.settingPrefix + name] = value }
        return snapshot
    }

    /// Continues the run from `snapshot`: every setting must match this run's (only `epochs`
    /// may differ) and every array and number fit this model and run, else nothing changes
    /// and the error names the first difference. A checkpoint's content is untrusted (its
    /// checksum is public): every count and index is checked before use.
    public func restore(_ snapshot: TrainingSnapshot) throws {
        let resharded = try checkSettings(of: snapshot)
        // Everything is read and checked before anything changes.
        let store = model.parameterStore
        let parameters = try snapshot.floats(SnapshotKey.parameters, count: store.count)
        let stateBuffers = store.optimizer!.stateBuffers(sizedFor: store.count)
        let optimizerStates = try stateBuffers.map { try snapshot.floats(SnapshotKey.optimizerState($0.index), count: store.count) }
        let words = try snapshot.words(SnapshotKey.position, count: 4)
        guard words.allSatisfy({ $0 <= TrainingRun.largestPosition }) else {
            throw LoomError.invalidArgument("the checkpoint's position \(words) holds a number beyond 2^53")
        }
        let position = words.map { Int($0) }
        guard let generator = SeededGenerator(state: try snapshot.words(SnapshotKey.generator, count: 4)) else {
            throw LoomError.invalidArgument("the checkpoint's 'generator' is not a generator's state (all its words are 0)")
        }
        guard let learningRate = snapshot.reals[SnapshotKey.learningRate]?.first else {
            throw TrainingSnapshot.missing(SnapshotKey.learningRate)
        }
        let totals = snapshot.reals[SnapshotKey.totals] ?? []
        guard let restoredTotals = RunningTotals(objective: model.objective!, values: totals) else {
            throw LoomError.invalidArgument(
                "the checkpoint's 'totals' (\(totals.count) values) do not fit this run's loss and metrics "
                    + "(\(model.objective!.statisticCount + 2) values, a whole sample count last)")
        }
        let scheduled = store.optimizer!.schedule != nil
        guard scheduled ? Float(learningRate).isFinite && learningRate >= 0 : Float(learningRate).isNormal && learningRate > 0
        else {
            throw LoomError.invalidArgument("the checkpoint's learning rate \(learningRate) is not a positive finite number")
        }
        guard position[0] <= epochs else {
            throw LoomError.invalidArgument(
                "cannot resume: the checkpoint is at epoch \(position[0] + 1), past this run's \(epochs) epochs")
        }
        guard position[0] < epochs || position[1] == 0 else {
            throw LoomError.invalidArgument("the checkpoint's position \(words) is inside an epoch past the last; it is malformed")
        }
        let restoredHistory = try TrainingRun.history(in: snapshot, epochs: position[0])
        var randomStates: [(any RandomizedLayer, [UInt64])] = []
        var carried: [(RecurrentStateStore, [(Int, [[Float]])])] = []
        for (layerIndex, layer) in model.layers.enumerated() {
            if let randomized = layer as? any RandomizedLayer {
                randomStates.append(
                    (randomized, try snapshot.words(SnapshotKey.layerRandom(layerIndex), count: randomized.randomState.count)))
            }
            for (storeIndex, states) in ((layer as? any StateCarryingLayer)?.stateStores ?? []).enumerated() {
                carried.append(
                    (
                        states,
                        try TrainingRun.carriedState(
                            snapshot, prefix: SnapshotKey.carriedState(layer: layerIndex, store: storeIndex), store: states)
                    ))
            }
        }
        let engineState = try engine.prepareRestore(from: snapshot, resharded: resharded)
        try restoreCallbacks(from: snapshot)

        parameters.withUnsafeBufferPointer { store.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
        for ((_, buffer), values) in zip(stateBuffers, optimizerStates) {
            values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        store.step = position[2]
        if !scheduled { self.learningRate = Float(learningRate) }
        for (layer, state) in randomStates { layer.randomState = state }
        for (states, entries) in carried {
            states.removeAll()
            for (batchSize, values) in entries { states.restore(batchSize: batchSize, values: values) }
        }
        engineState(position[3])
        epoch = position[0]
        batch = position[1]
        epochGenerator = generator
        model.generator = generator
        self.totals = restoredTotals
        history = restoredHistory
    }

    /// Refuses a snapshot taken under other settings, naming the first that differs (a long
    /// one, such as a model's config, is named without its values). The placement of the
    /// shards (`placementSettings`: workers and shards a process) may change as long as the
    /// global shard count does not: every shard's rows, dropout streams and state belong to
    /// its global index, so the run continues to the same bits on any ranks × shards that
    /// make the same count. Snapshots written before a setting was recorded: the global shard
    /// count is inferred from the replicas' keys (`replica.<global shard>.…`) when there are
    /// any; a setting named `option …` (one of the command line's, which `loom train` adds)
    /// that the snapshot lacks is not compared.
    /// Returns whether the snapshot's global shard count differs and `allowsResharding` lets
    /// it.
    private func checkSettings(of snapshot: TrainingSnapshot) throws -> Bool {
        let expected = settings.merging(TrainingRun.unrecordedDefaults) { given, _ in given }
        var resharded = false
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) where !TrainingRun.placementSettings.contains(name) {
            var saved = snapshot.texts[SnapshotKey.settingPrefix + name]
            if saved == nil, let absent = TrainingRun.unrecordedDefaults[name] {
                saved = absent
            } else if saved == nil, name == TrainingRun.globalShardsSetting {
                guard let inferred = TrainingRun.inferredGlobalShards(snapshot) else { continue }
                saved = String(inferred)
            } else if saved == nil, name.hasPrefix("option ") {
                continue
            }
            if name == TrainingRun.globalShardsSetting, let saved, saved != value, allowsResharding {
                guard settings["averaging"] == "\(Averaging.gradients)" else {
                    throw LoomError.invalidArgument(
                        "cannot reshard a checkpoint of parameter averaging: each of its \(saved) shards keeps weights of its own")
                }
                if processGroup.rank == 0 {
                    Logger.loom.warning(
                        """
                        resharding: the checkpoint's \(saved) global shards become \(value); the run continues, but no longer \
                        has the bits of an uninterrupted run (each shard's dropout streams start afresh)
                        """)
                }
                resharded = true
                continue
            }
            if name == TrainingRun.globalShardsSetting, let saved, saved != value {
                throw LoomError.invalidArgument(
                    "cannot resume: the checkpoint was taken with \(saved) global shards (processes × shards a process), this run "
                        + "has \(value); resume on any processes × shards that make \(saved) (loom train --global-shards \(saved)), "
                        + "or continue on \(value) with --reshard (the bits then differ from an uninterrupted run's)")
            }
            guard saved == value else {
                let taken = [saved ?? "unset", value].contains { $0.count > 100 } ? "another \(name)" : "\(name) \(saved ?? "unset")"
                let now = taken.hasPrefix("another ") ? "" : ", this run has \(value)"
                throw LoomError.invalidArgument(
                    ("cannot resume: the checkpoint was taken with \(taken)\(now) "
                        + "(a resume may change only the epochs, the outputs, the logging and the placement)")
                        .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r"))
            }
        }
        return resharded
    }

    /// Settings a run records only when they differ from these values (a run without them
    /// writes the settings of earlier versions, and their checkpoints resume as such).
    static let unrecordedDefaults = [
        "schedule": "none", "clipping": "none", "weight decay": "none", "accumulation": "1", "truncated bptt": "none",
        "validation samples": "split", "shuffle blocks": "none",
    ]

    /// The setting that records the global shard count (processes × shards per process).
    static let globalShardsSetting = "global shards"

    /// The settings that say where the shards run, which a resumed run may change (the
    /// global shard count stays).
    static let placementSettings: Set = ["workers", "shards"]

    /// The global shard count of a snapshot that does not record it: one past the highest
    /// replica index among its keys, at least its `shards` setting; nil when it has no replica
    /// keys (copies without dropout streams or parameters of their own leave none).
    private static func inferredGlobalShards(_ snapshot: TrainingSnapshot) -> Int? {
        let names = Array(snapshot.floats.keys) + Array(snapshot.words.keys)
        let replicas = names.compactMap { name -> Int? in
            guard name.hasPrefix(SnapshotKey.replicaPrefix) else { return nil }
            return Int(name.dropFirst(SnapshotKey.replicaPrefix.count).prefix { $0 != "." })
        }
        guard let highest = replicas.max() else { return nil }
        let local = snapshot.texts[SnapshotKey.settingPrefix + "shards"].flatMap { Int($0) } ?? 1
        return max(local, highest + 1)
    }

    /// The largest position word a snapshot may hold (2^53): counts far beyond any run, small
    /// enough that no step count overflows.
    static let largestPosition: UInt64 = 1 << 53

    /// The history of `epochs` finished epochs in `snapshot`: every key with one value per epoch.
    private static func history(in snapshot: TrainingSnapshot, epochs: Int) throws -> History {
        var history = History()
        for (name, values) in snapshot.reals where name.hasPrefix(SnapshotKey.historyPrefix) {
            guard values.count == epochs else {
                throw LoomError.invalidArgument(
                    "the checkpoint's '\(name)' holds \(values.count) values for \(epochs) finished epochs; it is malformed")
            }
            history.history[String(name.dropFirst(SnapshotKey.historyPrefix.count))] = values
        }
        history.epoch = Array(0..<(history.history.isEmpty ? 0 : epochs))
        return history
    }

    /// Gives each callback its state from `snapshot`; a state the callback does not take back
    /// as it is (malformed) is an error, and every callback keeps its state then.
    private func restoreCallbacks(from snapshot: TrainingSnapshot) throws {
        let keyed = callbackKeys()
        let previous = keyed.map { $0.1.checkpointState }
        for (key, callback) in keyed {
            guard let state = snapshot.reals[SnapshotKey.callbackPrefix + key] else { continue }
            callback.checkpointState = state
            guard callback.checkpointState.elementsEqual(state, by: { $0.bitPattern == $1.bitPattern }) else {
                for ((_, callback), state) in zip(keyed, previous) { callback.checkpointState = state }
                throw LoomError.invalidArgument("the checkpoint's 'callback.\(key)' state is malformed")
            }
        }
    }

    /// Each callback with its key: its type's name and its rank among callbacks of that type.
    private func callbackKeys() -> [(String, any Callback)] {
        var seen: [String: Int] = [:]
        return callbacks.map { callback in
            let type = String(describing: Swift.type(of: callback))
            let rank = seen[type, default: 0]
            seen[type] = rank + 1
            return ("\(type).\(rank)", callback)
        }
    }

    /// The carried states under `prefix` (`<batch size>.<component>` follow it), by batch
    /// size, each component `(batch size, units)` of `store`.
    private static func carriedState(_ snapshot: TrainingSnapshot, prefix: String, store: RecurrentStateStore) throws -> [(Int, [[Float]])]
    {
        var sizes = Set<Int>()
        for name in snapshot.floats.keys where name.hasPrefix(prefix) {
            guard let size = Int(name.dropFirst(prefix.count).split(separator: ".").first ?? ""), size > 0 else {
                throw LoomError.invalidArgument("the checkpoint's '\(name)' names no batch size")
            }
            sizes.insert(size)
        }
        return try sizes.sorted().map { size in
            let (count, overflow) = size.multipliedReportingOverflow(by: store.units)
            guard !overflow else { throw LoomError.invalidArgument("the checkpoint's '\(prefix)\(size)' state is malformed") }
            return (size, try (0..<store.components).map { try snapshot.floats("\(prefix)\(size).\($0)", count: count) })
        }
    }

    static func array(_ pointer: UnsafePointer<Float>, _ count: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}
