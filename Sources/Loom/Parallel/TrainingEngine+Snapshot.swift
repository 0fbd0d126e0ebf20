/// What the engine adds to a `TrainingSnapshot`, and takes back from one.
extension TrainingEngine {
    /// Adds what the replicas hold beyond the store to `snapshot`, under their global shard
    /// index: when they are copies, each one's dropout generators, and with parameter
    /// averaging its parameters and optimizer state; with gradient accumulation, each leaf's
    /// dropout generators (`leaf.<global leaf>.random.<randomized layer>`).
    func save(into snapshot: inout TrainingSnapshot) {
        if let accumulation {
            for (leaf, streams) in accumulation.leafStreams.enumerated() {
                for (index, words) in streams.enumerated() {
                    snapshot.words[SnapshotKey.leafRandom(leaf: accumulation.firstLeaf + leaf, index: index)] = words
                }
            }
        }
        for (local, replica) in replicas.replicas.enumerated() where replica.isCopy {
            let s = replicas.firstShard + local
            for (index, layer) in replica.layers.enumerated() {
                if let randomized = layer as? any RandomizedLayer {
                    snapshot.words[SnapshotKey.replicaRandom(shard: s, layer: index)] = randomized.randomState
                }
            }
            if let own = replica.ownParameters, let optimizer = replica.optimizer {
                snapshot.floats[SnapshotKey.replicaParameters(shard: s)] = TrainingRun.array(own.pointer, store.count)
                for (index, buffer) in optimizer.stateBuffers(sizedFor: store.count) {
                    snapshot.floats[SnapshotKey.replicaOptimizerState(shard: s, index: index)] = TrainingRun.array(
                        buffer.pointer, store.count)
                }
            }
        }
    }

    /// Reads and checks the replicas' part of `snapshot`; returns what applies it (given the
    /// local step count), so that a bad snapshot is refused before anything changes. A
    /// `resharded` snapshot (another global shard count) gives no shard's own state: the
    /// shards' dropout streams stay as they start.
    func prepareRestore(from snapshot: TrainingSnapshot, resharded: Bool = false) throws -> (Int) -> Void {
        var writes: [(UnsafeMutablePointer<Float>, [Float])] = []
        var randomStates: [(any RandomizedLayer, [UInt64])] = []
        let leafStreams = try accumulation.flatMap { accumulation in
            resharded
                ? nil
                : try accumulation.leafStreams.enumerated().map { leaf, streams in
                    try streams.enumerated().map { index, words in
                        try snapshot.words(SnapshotKey.leafRandom(leaf: accumulation.firstLeaf + leaf, index: index), count: words.count)
                    }
                }
        }
        for (local, replica) in replicas.replicas.enumerated() where replica.isCopy && !resharded {
            let s = replicas.firstShard + local
            for (index, layer) in replica.layers.enumerated() {
                guard let randomized = layer as? any RandomizedLayer else { continue }
                randomStates.append(
                    (randomized, try snapshot.words(SnapshotKey.replicaRandom(shard: s, layer: index), count: randomized.randomState.count))
                )
            }
            if let own = replica.ownParameters, let optimizer = replica.optimizer {
                writes.append((own.pointer, try snapshot.floats(SnapshotKey.replicaParameters(shard: s), count: store.count)))
                for (index, buffer) in optimizer.stateBuffers(sizedFor: store.count) {
                    writes.append(
                        (buffer.pointer, try snapshot.floats(SnapshotKey.replicaOptimizerState(shard: s, index: index), count: store.count))
                    )
                }
            }
        }
        return { [self] localSteps in
            for (target, values) in writes {
                values.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: $0.count) }
            }
            for (layer, state) in randomStates { layer.randomState = state }
            if let leafStreams { accumulation?.leafStreams = leafStreams }
            self.localSteps = localSteps
        }
    }
}
