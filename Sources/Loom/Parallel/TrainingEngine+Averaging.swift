import Dispatch

/// Parameter averaging (`Averaging.parameters`): each replica steps its own copy of the
/// parameters and optimizer state, and every `every` steps the copies are averaged, in the
/// shard tree's order, in this process or across processes.
extension TrainingEngine {
    /// With parameter averaging, averages the replicas into the store now (before evaluating
    /// the model, and at the end), unless nothing was trained since the last average.
    func synchronizeParameters() {
        guard case let .parameters(every) = averaging, localSteps % every != 0 else { return }
        averageParameters()
        localSteps = 0
    }

    /// Averages the replicas' parameters and optimizer states, slice by slice, into the store
    /// and back into every replica: each buffer summed in tree order over the shards (in
    /// place: every copy is overwritten by the mean), then scaled.
    func averageParameters() {
        if replicas.isMultiProcess {
            recordFailure { try averageAcrossProcesses() }
            return
        }
        let target = store.values.pointer
        replicas.pool.run { [self] worker in
            let start = DispatchTime.now()
            let slice = slices[worker]
            for (copies, target) in averagedBuffers(target: target) {
                replicas.localReduction.add(copies, range: slice)
                spreadMean(of: copies[replicas.localReduction.remaining[0]], over: slice, to: copies, target: target)
            }
            timings[worker].pointee.reduce += DispatchTime.now().seconds(since: start)
        }
    }

    /// The buffers parameter averaging averages: every replica's parameters (their mean goes
    /// to `target`, the store's), then each optimizer state of the parameters' size.
    func averagedBuffers(target: UnsafeMutablePointer<Float>) -> [([UnsafeMutablePointer<Float>], UnsafeMutablePointer<Float>?)] {
        let copies = replicas.replicas
        let states = copies.map { $0.optimizer!.stateBuffers }
        var buffers: [([UnsafeMutablePointer<Float>], UnsafeMutablePointer<Float>?)] = [
            (copies.map { $0.ownParameters!.pointer }, target)
        ]
        for (index, _) in copies[0].optimizer!.stateBuffers(sizedFor: store.count) {
            buffers.append((states.map { $0[index].pointer }, nil))
        }
        return buffers
    }

    /// Writes `sums[range]` / (the job's shards) into `target` and every buffer of `copies`.
    func spreadMean(
        of sums: UnsafeMutablePointer<Float>, over range: Range<Int>, to copies: [UnsafeMutablePointer<Float>],
        target: UnsafeMutablePointer<Float>?
    ) {
        let scale = 1 / Float(replicas.globalShardCount)
        for k in range {
            let mean = sums[k] * scale
            target?[k] = mean
            for copy in copies { copy[k] = mean }
        }
    }

    /// `averageParameters` over every process's replicas, on the calling thread: each buffer
    /// reduced to this process's pieces, the tree completed with the other processes'
    /// (`ProcessGroup.sumShards`), then scaled as one process scales it.
    func averageAcrossProcesses() throws {
        let count = store.count
        var sums = [Float](repeating: 0, count: count)
        var none: [Double] = []
        for (copies, target) in averagedBuffers(target: store.values.pointer) {
            replicas.localReduction.add(copies, range: 0..<count)
            try sums.withUnsafeMutableBufferPointer { floats in
                try none.withUnsafeMutableBufferPointer { header in
                    try replicas.group.sumShards(
                        ShardSum(
                            tree: replicas.tree, shardsPerRank: replicas.shardCount,
                            pieceFloats: replicas.localReduction.remaining.map { copies[$0] },
                            pieceHeaders: replicas.pieceHeaders, floats: floats, header: header, maxima: 0))
                }
                spreadMean(of: floats.baseAddress!, over: 0..<count, to: copies, target: target)
            }
        }
    }
}
