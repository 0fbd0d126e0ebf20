extension Sequential {
    /// Times each layer's forward and backward passes over `steps` training steps of
    /// `batchSize` rows (the model's fixed batch, else 32) on one worker, the calling thread,
    /// after one step that is not timed; the batches run through `x`, `y` in order, wrapping
    /// around. The model trains meanwhile (its weights and optimizer state move on). Products
    /// run on OpenBLAS's threads as set (`loom bench` sets one, to compare with one thread's
    /// FMA peak). Returns the layers' profiles in model order.
    public func profileLayers(x: Tensor, y: Tensor, batchSize: Int? = nil, steps: Int) throws -> [LayerProfile] {
        guard isCompiled else { throw notCompiled("profileLayers") }
        guard steps >= 1 else { throw LoomError.invalidArgument("profileLayers: steps must be at least 1, got \(steps)") }
        let dataset = try InMemoryDataset(x: x, y: y)
        let batch = try checkRun(dataset, batchSize: batchSize, context: "profileLayers", use: .training, parts: [])
        let rows = min(batch, dataset.sampleCount)
        let layout = try ShardLayout(Parallelism(), batch: rows, stateful: isStateful)
        let workspace = makeWorkspace(dataset, weightsPerSample: try lossWeightsPerSample(of: dataset))
        let engine = try TrainingEngine(model: self, layout: layout, averaging: .gradients)
        let replica = engine.replicas.replicas[0]
        let seconds = LayerSeconds(layers: layers.count)
        defer {
            replica.layerSeconds = nil
            engine.finish(completed: true)
        }
        for step in 0...steps {
            // The first step warms the workspaces up.
            if step == 1 { replica.layerSeconds = seconds }
            let first = step * rows
            try workspace.load(dataset, rows: ArraySlice((first..<(first + rows)).map { $0 % dataset.sampleCount }))
            _ = try engine.trainStep(workspace, batch: rows)
        }
        let inputs = [inputShape!] + layerOutputShapes.dropLast()
        return layers.indices.map { index in
            let layer = layers[index]
            let counting = layer as? any FlopCountingLayer
            let (input, output) = (inputs[index], layerOutputShapes[index])
            let flops = Double(rows) * (counting?.forwardFlopsPerSample(input: input, output: output) ?? 0)
            let inputFlops = Double(rows) * (counting?.inputFlopsPerSample(input: input, output: output) ?? 0)
            return LayerProfile(
                name: layer.name, typeName: layer.typeName, forwardSeconds: seconds.forward[index] / Double(steps),
                backwardSeconds: seconds.backward[index] / Double(steps), forwardFlops: flops,
                backwardFlops: index == 0 ? 2 * flops - inputFlops : 2 * flops)
        }
    }
}
