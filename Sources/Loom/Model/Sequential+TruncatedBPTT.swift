/// Truncated backpropagation through time (Deeplearning4j's `tBPTTLength`): each batch's
/// sequences go forward and backward in chunks of k steps, the state carried from chunk to
/// chunk, one optimizer step a chunk.
///
/// For the fit, the model's own layers are rebuilt for k-step inputs and carry their state
/// from call to call (`RecurrentSequence.carriesState`); the state starts from zeros at each
/// batch (a stateful model's continues from the last batch's, as without truncation). A last
/// chunk shorter than k runs as k steps whose end is masked, so it computes what the short
/// chunk would; a chunk in which the dataset's lengths leave no valid step takes no step.
/// The batch's loss and metrics are the means of its chunks', each weighing its loss rows
/// (its valid ones, for a masked or weighted chunk), so they are the batch's means over its
/// valid rows; across batches the metrics of masked or weighted batches weigh their valid
/// rows, as without truncation. Checkpoints fall between batches, so a run resumes from the first chunk of a
/// batch, to the same bits. While such a fit runs, the model's layers are built for the chunks:
/// `predict` and `evaluate` (from a callback) are refused until it ends.
extension Sequential {
    /// Checks that truncated BPTT with chunks of `length` steps applies to this built model
    /// (a many-to-many model: every layer keeps the timesteps, none reads the sequence
    /// backwards as a whole) and returns the plan.
    func truncatedBPTT(length: Int) throws -> TruncatedBPTTPlan {
        guard length >= 1 else { throw LoomError.invalidArgument("fit: truncatedBPTT must be at least 1, got \(length)") }
        guard let input = inputShape, !input.isEmpty, let output = outputShape, output.count >= 2, output[0] == input[0] else {
            throw LoomError.invalidArgument(
                "fit: truncated BPTT needs a model with an output a timestep, (samples, timesteps, ...) in and out; "
                    + "model '\(name)' maps \(Shape.describe(inputShape ?? [])) to \(Shape.describe(outputShape ?? []))")
        }
        for layer in layers {
            let refusal: String?
            switch layer {
            case is Bidirectional: refusal = "reads each sequence backwards from its end, which a chunk does not hold"
            case let recurrent as any RecurrentLayer where !recurrent.returnSequences:
                refusal = "returns its last output (many-to-one): the loss would only see the last chunk"
            case let recurrent as any RecurrentLayer where recurrent.goBackwards:
                refusal = "reads the sequence backwards from its end, which a chunk does not hold"
            case is RepeatVector, is Flatten: refusal = "does not keep the timesteps"
            default: refusal = nil
            }
            if let refusal {
                throw LoomError.invalidArgument("fit: truncated BPTT cannot train \(layer.typeName) '\(layer.name)': it \(refusal)")
            }
        }
        let timesteps = input[0], length = min(length, timesteps)
        // A short last chunk is masked at its end from the input: the mask must reach the output
        // as it is, made by none of the later layers.
        let remakesMask = layers.dropFirst().contains { $0 is Masking || ($0 as? Embedding)?.maskZero == true }
        if timesteps % length != 0 && (!masksOutput(inputMasked: true) || remakesMask) {
            throw LoomError.invalidArgument(
                "fit: \(timesteps) timesteps do not split into chunks of \(length), and model '\(name)' cannot mask the "
                    + "last chunk's end (a layer ends or remakes the input's mask); choose a length that divides \(timesteps)")
        }
        return TruncatedBPTTPlan(length: length, timesteps: timesteps, fill: (layers.first as? Masking)?.maskValue ?? 0)
    }

    /// Rebuilds the layers for inputs of `steps` timesteps (the rest of the input shape kept)
    /// and sets whether they carry their state from call to call; the parameters stay where
    /// they are. A truncated-BPTT fit runs on `length` steps and ends back on the model's own.
    func rebuild(timesteps steps: Int, carryingState: Bool) throws {
        chunkLength = carryingState ? steps : nil
        var current = [steps] + Array(inputShape!.dropFirst())
        var shapes: [[Int]] = []
        for layer in layers {
            current = try layer.build(inputShape: current)
            shapes.append(current)
            guard let carrying = layer as? any StateCarryingLayer else { continue }
            carrying.carriesState = carryingState || layer.isStateful
            if !layer.isStateful && !carryingState { for store in carrying.stateStores { store.removeAll() } }
        }
        outputShapes = shapes
    }

    /// Reads the batch `rows` whole (this process's rows of it, under `mpirun`) with `loader`
    /// and trains it chunk by chunk; returns the batch's loss and metrics, and its valid loss
    /// rows when weighted (`ChunkMeans.validRows`).
    func trainInChunks(
        _ engine: TrainingEngine, plan: TruncatedBPTTPlan, loader: BatchLoader, chunk: BatchWorkspace, rows: ArraySlice<Int>
    ) throws -> (loss: Double, metrics: [Double], validRows: Double?) {
        try loader.load(rows, next: nil)
        let workspace = loader.workspace, dataset = loader.dataset
        if !isStateful { resetStates() }
        var means = ChunkMeans(metrics: objective!.statisticCount)
        for steps in plan.chunks where Sequential.hasValidSteps(dataset.sequenceLengths, rows: rows, steps: steps) {
            chunk.loadSteps(
                steps, of: workspace, timesteps: plan.timesteps, rows: rows.count, steps: plan.length, fill: plan.fill)
            let (loss, metrics) = try engine.trainStep(chunk, batch: rows.count)
            let weighted = engine.replicas.weighting(chunk).isWeighted
            means.add(
                loss: loss, metrics: metrics,
                weight: weighted ? engine.lastValidRows : lossRows(chunk, plan: plan, rows: rows.count, steps: steps.count),
                isWeighted: weighted)
        }
        return (means.results.0, means.results.1, means.validRows)
    }

    /// The loss and metrics of `rows` of `dataset`, by chunked forward passes on `replicas`
    /// (built for the chunks), the state carried from chunk to chunk.
    func evaluateInChunks(
        dataset: any Dataset, rows: Range<Int>, batchSize: Int, plan: TruncatedBPTTPlan, workspace: BatchWorkspace,
        chunk: BatchWorkspace, replicas: ReplicaSet, objective: Objective
    ) throws -> RunningTotals {
        var totals = RunningTotals(objective: objective)
        let loader = BatchLoader(forwardPassesOf: dataset, into: workspace, targets: true, replicas: replicas)
        try loader.forEachBatch(of: rows, batchSize: batchSize) { _, count in
            if !isStateful { resetStates() }
            var means = ChunkMeans(metrics: objective.statisticCount)
            for steps in plan.chunks {
                chunk.loadSteps(steps, of: workspace, timesteps: plan.timesteps, rows: count, steps: plan.length, fill: plan.fill)
                let (loss, metrics) = try replicas.forward(chunk, batch: count, objective: objective, output: nil)
                let weighted = replicas.weighting(chunk).isWeighted
                means.add(
                    loss: loss, metrics: metrics,
                    weight: weighted ? replicas.lastValidRows : lossRows(chunk, plan: plan, rows: count, steps: steps.count),
                    isWeighted: weighted)
            }
            let (loss, metrics) = means.results
            totals.add(loss: loss, metrics: metrics, samples: count, validRows: means.validRows)
        }
        return totals
    }

    /// The loss rows of an unweighted chunk of `steps` steps of `rows` rows (each step's output
    /// may hold several rows of the last axis): what a weighted chunk counts as `validRows`.
    private func lossRows(_ chunk: BatchWorkspace, plan: TruncatedBPTTPlan, rows: Int, steps: Int) -> Double {
        let perStep = chunk.outputCount / plan.length / (outputShape!.last ?? 1)
        return Double(rows * steps * perStep)
    }

    /// Whether any of `rows` has a valid step among `steps` by the dataset's `lengths` (every
    /// process knows them all); true without lengths.
    static func hasValidSteps(_ lengths: SequenceLengths?, rows: ArraySlice<Int>, steps: Range<Int>) -> Bool {
        guard let lengths else { return true }
        return rows.contains { row in
            let length = lengths.lengths[row]
            let valid = lengths.padding == .pre ? (lengths.timesteps - length)..<lengths.timesteps : 0..<length
            return valid.overlaps(steps)
        }
    }
}
