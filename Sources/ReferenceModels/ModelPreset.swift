import Loom

/// The model presets, sized from the data's shapes: inputs `(timesteps, features)`, targets
/// `(outputs)` or, for the sequence presets, `(steps, outputs)`. `loom train --arch` names
/// them, and the reference models B1–B7 are built from them. Each LSTM below is a stack of
/// `Recurrence.layers` layers of its cell when the recurrence says so.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// LSTM on one timestep (1, features) -> Dense(outputs).
    case oneToOne = "one-to-one"
    /// LSTM(units) -> Dense(outputs).
    case vanilla
    /// The same as vanilla, by the notes' name.
    case manyToOne = "many-to-one"
    /// LSTM(units, sequences) -> TimeDistributed(Dense(outputs)); y (samples, timesteps, outputs).
    case manyToMany = "many-to-many"
    /// LSTM(units) -> RepeatVector(steps) -> LSTM(units, sequences) -> TimeDistributed(Dense(outputs));
    /// y (samples, steps, outputs), any number of steps.
    case encoderDecoder = "encoder-decoder"
    /// LSTM(units, sequences) x3 -> LSTM(units) -> Dense(outputs).
    case stacked
    /// Bidirectional(LSTM(units), merge mode) -> Dense(outputs).
    case bidirectional
    /// LSTM(units, stateful) -> Dense(outputs), batches in file order.
    case stateful
    /// An image (height, width, channels) through Conv2D(filters, 3x3, relu) -> MaxPooling2D(2x2)
    /// -> Flatten -> RepeatVector(steps) -> LSTM(units, sequences) -> TimeDistributed(Dense(outputs)).
    case oneToMany = "one-to-many"
    /// Image sequences (timesteps, height, width, channels) through TimeDistributed Conv2D(filters,
    /// 3x3, relu), MaxPooling2D(2x2) and Flatten -> LSTM(units) -> Dense(outputs).
    case cnnLSTM = "cnn-lstm"

    /// The model for per-sample inputs and targets of these shapes; `outputActivation` is the
    /// last Dense layer's (sigmoid for 0/1 targets). `recurrence` chooses the recurrent layers'
    /// cell, count and dropout (the default: the LSTM layers listed above). With `maskValue`, a
    /// `Masking` layer comes first: a timestep whose every feature is that value is padding.
    public func makeModel(
        inputShape: [Int], targetShape: [Int], units: Int, batchSize: Int, seed: UInt64,
        mergeMode: Bidirectional.MergeMode = .concat, filters: Int = 8, outputActivation: Activation = .linear,
        maskValue: Float? = nil, recurrence: Recurrence = Recurrence()
    ) throws -> Sequential {
        try recurrence.check()
        let model = try makeUnmasked(
            inputShape: inputShape, targetShape: targetShape, units: units, batchSize: batchSize, seed: seed,
            mergeMode: mergeMode, filters: filters, outputActivation: outputActivation, recurrence: recurrence)
        guard let maskValue else { return model }
        let masked = Sequential(name: model.name, seed: seed, inputShape: inputShape, batchSize: model.batchSize)
        masked.add(Masking(maskValue: maskValue))
        for layer in model.layers { masked.add(layer) }
        return masked
    }

    /// The preset's own layers (`makeModel` without a mask).
    private func makeUnmasked(
        inputShape: [Int], targetShape: [Int], units: Int, batchSize: Int, seed: UInt64,
        mergeMode: Bidirectional.MergeMode, filters: Int, outputActivation: Activation, recurrence: Recurrence
    ) throws -> Sequential {
        let expectedRank = self == .oneToMany ? 3 : self == .cnnLSTM ? 4 : 2
        guard inputShape.count == expectedRank else {
            let expected = [
                "(samples, timesteps, features)", "(samples, height, width, channels)",
                "(samples, timesteps, height, width, channels)",
            ][expectedRank - 2]
            throw LoomError.shapeMismatch(context: "--arch \(rawValue)", expected: "X of \(expected)", found: [-1] + inputShape)
        }
        let sequenceTargets = [.manyToMany, .encoderDecoder, .oneToMany].contains(self)
        guard sequenceTargets ? targetShape.count == 2 : targetShape.count <= 1 else {
            let mismatch = LoomError.shapeMismatch(
                context: "--arch \(rawValue): y", expected: sequenceTargets ? "(samples, steps, outputs)" : "(samples, outputs)",
                found: [-1] + targetShape)
            guard !sequenceTargets, targetShape.count == 2 else { throw mismatch }
            throw LoomError.invalidArgument(
                "\(mismatch); y holds a sequence of targets a sample: train it with --arch encoder-decoder (or many-to-many "
                    + "when y has X's timesteps)")
        }
        if self == .oneToOne, inputShape[0] != 1 {
            throw LoomError.shapeMismatch(context: "--arch one-to-one: X", expected: "(samples, 1, features)", found: [-1] + inputShape)
        }
        if self == .manyToMany, targetShape[0] != inputShape[0] {
            throw LoomError.shapeMismatch(
                context: "--arch many-to-many: y", expected: "(samples, \(inputShape[0]), outputs)",
                found: [-1] + targetShape)
        }
        let outputs = targetShape.last ?? 1
        let count = recurrence.layers ?? (self == .stacked ? 4 : 1)
        func recurrent(returnSequences: Bool, stateful: Bool = false) -> [any RecurrentLayer] {
            recurrence.stack(count, units: units, returnSequences: returnSequences, stateful: stateful)
        }
        switch self {
        case .oneToOne, .vanilla, .manyToOne, .stacked:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                for layer in recurrent(returnSequences: false) { layer }
                Dense(outputs, activation: outputActivation)
            }
        case .manyToMany:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                for layer in recurrent(returnSequences: true) { layer }
                TimeDistributed(Dense(outputs, activation: outputActivation))
            }
        case .encoderDecoder:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                for layer in recurrent(returnSequences: false) { layer }
                RepeatVector(targetShape[0])
                for layer in recurrent(returnSequences: true) { layer }
                TimeDistributed(Dense(outputs, activation: outputActivation))
            }
        case .bidirectional:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                for layer in recurrent(returnSequences: false) { Bidirectional(layer, mergeMode: mergeMode) }
                Dense(outputs, activation: outputActivation)
            }
        case .stateful:
            return Sequential(seed: seed) {
                Input(shape: inputShape, batchSize: batchSize)
                for layer in recurrent(returnSequences: false, stateful: true) { layer }
                Dense(outputs, activation: outputActivation)
            }
        case .oneToMany:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                Conv2D(filters, kernelSize: (3, 3), activation: .relu)
                MaxPooling2D(poolSize: (2, 2))
                Flatten()
                RepeatVector(targetShape[0])
                for layer in recurrent(returnSequences: true) { layer }
                TimeDistributed(Dense(outputs, activation: outputActivation))
            }
        case .cnnLSTM:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                TimeDistributed(Conv2D(filters, kernelSize: (3, 3), activation: .relu))
                TimeDistributed(MaxPooling2D(poolSize: (2, 2)))
                TimeDistributed(Flatten())
                for layer in recurrent(returnSequences: false) { layer }
                Dense(outputs, activation: outputActivation)
            }
        }
    }
}
