import Foundation

extension Sequential {
    /// What a run does with its data, which decides what is checked.
    enum DataUse {
        /// Steps on batches of the given size (`fit`, `trainOnBatch`): targets needed, and a
        /// stateful model's fixed batch size is the only one allowed.
        case training
        /// Forward passes scored against targets.
        case evaluation
        /// Forward passes whose outputs are kept: no targets; any batch size (a stateful
        /// model keeps a state per batch size).
        case prediction
        /// Forward passes whose outputs go elsewhere a batch at a time: as `prediction`, but
        /// memory holds one batch of outputs.
        case streamedPrediction
    }

    /// The checks of a run's data against the model, made once before any work (by `FitPlan`,
    /// and first thing by evaluate, predict and the one-batch steps): builds the
    /// model for the data's shape, checks data in memory whole (the first layer's rules), the
    /// targets against the output, that kept outputs fit in memory,
    /// the batch size, and for a stateful model that each of `parts` (a description and a
    /// row count) fills whole batches. Returns the batch size.
    func checkRun(
        _ dataset: any Dataset, batchSize requested: Int?, context: String, use: DataUse, parts: [(String, Int)]
    ) throws -> Int {
        if let chunkLength {
            throw LoomError.notReady(
                "model '\(name)' is in a truncated-BPTT fit, its layers built for chunks of \(chunkLength) steps: \(context) after it ends")
        }
        try build(inputShape: dataset.inputShape)
        try checkInMemoryInputs(dataset)
        let predicting = use == .prediction || use == .streamedPrediction
        if !predicting { try checkTargets(dataset, context: context) }
        if !predicting, metrics.contains(.r2Score), let output = outputShape, output.count != 1 {
            throw LoomError.invalidArgument(
                "\(context): r2_score scores outputs (batch, outputs), as Keras's R2Score; this model outputs \(Shape.describe(output, batch: nil))"
            )
        }
        if use == .prediction { try checkOutputMemory(samples: dataset.sampleCount, context: context) }
        let batch = requested ?? batchSize ?? 32
        guard batch > 0 else { throw LoomError.invalidArgument("batchSize must be positive, got \(batch)") }
        if !predicting, let fixed = batchSize, batch != fixed, isStateful {
            throw LoomError.statefulBatch(
                "the stateful model was built for batches of \(fixed) (Input(batchSize:)), got batchSize \(batch)")
        }
        guard dataset.sampleCount > 0 else { throw LoomError.invalidArgument("the data has no samples") }
        if isStateful {
            for (what, count) in parts where count % batch != 0 {
                throw LoomError.statefulBatch(
                    "a stateful model needs the \(what) (\(count)) to be a multiple of the batch size (\(batch)), "
                        + "so that every row continues the same sequence; drop or pad \(count % batch) samples")
            }
        }
        return batch
    }

    /// Refuses validation data unlike the training data: other input shapes, or a mask
    /// (sequence lengths) on one side only.
    func checkValidationData(_ validation: any Dataset, of training: any Dataset) throws {
        guard validation.inputShape == training.inputShape else {
            throw LoomError.shapeMismatch(
                context: "fit: validationData's x", expected: Shape.describe(training.inputShape, batch: nil),
                found: [validation.sampleCount] + validation.inputShape)
        }
        guard (validation.sequenceLengths == nil) == (training.sequenceLengths == nil) else {
            let (with, without) = training.sequenceLengths == nil ? ("validation", "training") : ("training", "validation")
            throw LoomError.invalidArgument(
                "fit: the \(with) data has sequence lengths (a mask) and the \(without) data none; give both or neither")
        }
    }

    /// The error of a run that needs `compile` first.
    func notCompiled(_ context: String) -> LoomError {
        LoomError.notReady("model '\(name)' is not compiled: call compile(optimizer:loss:metrics:) before \(context)")
    }

    /// Keras accepts y `(samples,)` for an output `(samples, 1)`: shapes are compared without
    /// trailing 1s.
    private func checkTargets(_ dataset: any Dataset, context: String) throws {
        guard let targetShape = dataset.targetShape else {
            throw LoomError.invalidArgument("\(context): the dataset has no targets (y)")
        }
        let output = outputShape!
        func squeezed(_ shape: [Int]) -> [Int] {
            var s = shape
            while s.last == 1 { s.removeLast() }
            return s
        }
        // A class index a row of the output's last axis: the output's shape without that axis.
        let expected = objective?.loss.takesClassIndices == true ? Array(output.dropLast()) : output
        guard squeezed(targetShape) == squeezed(expected) else {
            throw LoomError.shapeMismatch(
                context: "\(context): y does not match the output of layer '\(layers.last!.name)'"
                    + (expected == output ? "" : " (class indices, one a row of its last axis)"),
                expected: Shape.describe(expected, batch: nil), found: [dataset.sampleCount] + targetShape)
        }
    }

    /// Refuses, before anything is allocated, a prediction whose outputs, kept whole, would
    /// not fit in this machine's memory: a file may declare more samples than any machine
    /// holds (`predict(dataset:each:)` streams them instead). Nothing else a run allocates
    /// grows with the sample count: data is read a batch at a time, and an epoch's order is
    /// computed batch by batch (`BatchOrder`).
    private func checkOutputMemory(samples: Int, context: String) throws {
        let (bytes, overflow) = samples.multipliedReportingOverflow(by: 4 * Shape.count(outputShape!))
        let available = ProcessInfo.processInfo.physicalMemory
        guard overflow || UInt64(bytes) > available else { return }
        throw LoomError.invalidArgument(
            "\(context): the data declares \(samples) samples; their outputs alone would need "
                + "\(overflow ? "more than 2^63 bytes" : "\(bytes / (1 << 30)) GiB"), more than this machine's "
                + "\(available / (1 << 30)) GiB; stream them with predict(dataset:each:) (loom predict --out)")
    }

    /// Data in memory is checked whole by the first layer before any step, so a bad sample
    /// changes nothing; a streaming dataset is checked batch by batch as it is read.
    private func checkInMemoryInputs(_ dataset: any Dataset) throws {
        try dataset.withAllInputs { x in
            guard let values = x.baseAddress else { return }
            try layers[0].checkInput(values, rows: ArraySlice(0..<dataset.sampleCount))
        }
    }
}
