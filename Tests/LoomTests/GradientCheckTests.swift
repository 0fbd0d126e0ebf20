import TestSupport
import XCTest

@testable import Loom

/// Every layer configuration and every loss against finite differences (see `checkGradients`).
final class GradientCheckTests: XCTestCase {
    private func compiled(_ model: Sequential, loss: Loss) throws -> Sequential {
        try model.compile(optimizer: SGD(), loss: loss)
        return model
    }

    func testDense() throws {
        let model = try compiled(
            Sequential(seed: 1) {
                Input(shape: [5]); Dense(4, activation: .tanh); Dense(2)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([3, 5], seed: 1), y: randomTensor([3, 2], seed: 2))
    }

    func testDenseOnSequencesAppliesToEveryTimestep() throws {
        let model = try compiled(
            Sequential(seed: 2) {
                Input(shape: [4, 3]); Dense(3, activation: .sigmoid); Dense(2)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 4, 3], seed: 3), y: randomTensor([2, 4, 2], seed: 4))
    }

    func testLSTMLastOutput() throws {
        // The Dense in front makes the LSTM's input gradient part of the check.
        let model = try compiled(
            Sequential(seed: 3) {
                Input(shape: [5, 3]); Dense(3); LSTM(4); Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([3, 5, 3], seed: 5), y: randomTensor([3, 1], seed: 6))
    }

    func testLSTMReturnSequences() throws {
        let model = try compiled(
            Sequential(seed: 4) {
                Input(shape: [4, 2]); Dense(3); LSTM(3, returnSequences: true); LSTM(2); Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 4, 2], seed: 7), y: randomTensor([2, 1], seed: 8))
    }

    func testLSTMGoBackwards() throws {
        let model = try compiled(
            Sequential(seed: 5) {
                Input(shape: [4, 2]); Dense(3); LSTM(3, returnSequences: true, goBackwards: true); Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 4, 2], seed: 9), y: randomTensor([2, 4, 1], seed: 10))
    }

    func testLSTMWithUnitsInWhole16LaneVectors() throws {
        // 16 units: the cell activates its gates row by row (other counts: by blocks of rows),
        // and the backward pass has one version for sigmoid and tanh, one for the others.
        for (index, activations) in [(Activation.tanh, Activation.sigmoid), (.sigmoid, .hardSigmoid)].enumerated() {
            let model = try compiled(
                Sequential(seed: 14 + UInt64(index)) {
                    Input(shape: [2, 1]); LSTM(16, activation: activations.0, recurrentActivation: activations.1); Dense(1)
                },
                loss: .meanSquaredError)
            try checkGradients(model, x: randomTensor([2, 2, 1], seed: 15), y: randomTensor([2, 1], seed: 16))
        }
    }

    func testLSTMOtherActivationsAndNoBias() throws {
        let model = try compiled(
            Sequential(seed: 6) {
                Input(shape: [3, 2])
                LSTM(3, activation: .sigmoid, recurrentActivation: .hardSigmoid, useBias: false, returnSequences: true)
                LSTM(2, recurrentActivation: .hardSigmoidKeras2)
                Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 3, 2], seed: 11), y: randomTensor([2, 1], seed: 12))
    }

    func testStatefulLSTMFromCarriedState() throws {
        // The second batch starts from the state the first left; the gradient treats that
        // state as a constant input (truncated backpropagation, as Keras).
        let model = try compiled(
            Sequential(seed: 7) {
                Input(shape: [3, 2], batchSize: 2); LSTM(3, stateful: true); Dense(1)
            },
            loss: .meanSquaredError)
        let first = randomTensor([2, 3, 2], seed: 13)
        try checkGradients(model, x: randomTensor([2, 3, 2], seed: 14), y: randomTensor([2, 1], seed: 15)) {
            model.resetStates()
            _ = try model.predict(first, batchSize: 2)
        }
    }

    func testMeanAbsoluteError() throws {
        let model = try compiled(
            Sequential(seed: 8) {
                Input(shape: [3, 2]); LSTM(3); Dense(2)
            }, loss: .meanAbsoluteError)
        try checkGradients(model, x: randomTensor([3, 3, 2], seed: 16), y: randomTensor([3, 2], seed: 17))
    }

    func testBinaryCrossentropyFusedWithSigmoid() throws {
        let model = try compiled(
            Sequential(seed: 9) {
                Input(shape: [3, 2]); LSTM(3); Dense(2, activation: .sigmoid)
            },
            loss: .binaryCrossentropy)
        try checkGradients(model, x: randomTensor([3, 3, 2], seed: 18), y: binaryTargets([3, 2], seed: 19))
    }

    func testBinaryCrossentropyOnOtherProbabilities() throws {
        let model = try compiled(
            Sequential(seed: 10) {
                Input(shape: [4]); Dense(2, activation: .hardSigmoid)
            },
            loss: .binaryCrossentropy)
        try checkGradients(model, x: randomTensor([3, 4], seed: 20, scale: 0.5), y: binaryTargets([3, 2], seed: 21))
    }

    func testCategoricalCrossentropyFusedWithSoftmax() throws {
        let model = try compiled(
            Sequential(seed: 11) {
                Input(shape: [3, 2]); LSTM(3); Dense(4, activation: .softmax)
            },
            loss: .categoricalCrossentropy)
        try checkGradients(model, x: randomTensor([3, 3, 2], seed: 22), y: oneHot(samples: 3, classes: 4, seed: 23))
    }

    func testCategoricalCrossentropyOnUnnormalisedProbabilities() throws {
        let model = try compiled(
            Sequential(seed: 12) {
                Input(shape: [4]); Dense(3, activation: .sigmoid)
            },
            loss: .categoricalCrossentropy)
        try checkGradients(model, x: randomTensor([3, 4], seed: 24), y: oneHot(samples: 3, classes: 3, seed: 25))
    }

    func testSoftmaxBackwardWithoutFusedLoss() throws {
        let model = try compiled(
            Sequential(seed: 13) {
                Input(shape: [4]); Dense(3, activation: .softmax)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([3, 4], seed: 26), y: randomTensor([3, 3], seed: 27))
    }

    func testTimeDistributedDenseAndRepeatVector() throws {
        let model = try compiled(
            Sequential(seed: 14) {
                Input(shape: [4, 2]); LSTM(3); RepeatVector(3); LSTM(3, returnSequences: true)
                TimeDistributed(Dense(2, activation: .tanh))
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 4, 2], seed: 28), y: randomTensor([2, 3, 2], seed: 29))
    }

    func testTimeDistributedSigmoidFusedWithBinaryCrossentropy() throws {
        let model = try compiled(
            Sequential(seed: 15) {
                Input(shape: [3, 2]); LSTM(3, returnSequences: true); TimeDistributed(Dense(1, activation: .sigmoid))
            },
            loss: .binaryCrossentropy)
        try checkGradients(model, x: randomTensor([2, 3, 2], seed: 30), y: binaryTargets([2, 3, 1], seed: 31))
    }

    func testBidirectionalEveryMergeMode() throws {
        for (index, mode) in Bidirectional.MergeMode.allCases.enumerated() {
            for sequences in [true, false] {
                let model = try compiled(
                    Sequential(seed: 16 + UInt64(index)) {
                        Input(shape: [4, 2]); Dense(2)
                        Bidirectional(LSTM(3, returnSequences: sequences), mergeMode: mode)
                        Dense(1)
                    },
                    loss: .meanSquaredError)
                let y = randomTensor(sequences ? [2, 4, 1] : [2, 1], seed: 32 + UInt64(index))
                try checkGradients(model, x: randomTensor([2, 4, 2], seed: 40 + UInt64(index)), y: y)
            }
        }
    }

    func testBidirectionalOverGRUAndSimpleRNN() throws {
        for (index, mode) in [Bidirectional.MergeMode.concat, .mul].enumerated() {
            let model = try compiled(
                Sequential(seed: 30 + UInt64(index)) {
                    Input(shape: [4, 2])
                    Bidirectional(GRU(3, returnSequences: true), mergeMode: mode)
                    Bidirectional(SimpleRNN(2), mergeMode: mode)
                    Dense(1)
                },
                loss: .meanSquaredError)
            try checkGradients(model, x: randomTensor([2, 4, 2], seed: 70 + UInt64(index)), y: randomTensor([2, 1], seed: 72))
        }
    }

    func testLSTMDropoutAndRecurrentDropoutBackpropagateThroughTheirMasks() throws {
        let lstm = LSTM(3, returnSequences: true, dropout: 0.3, recurrentDropout: 0.4)
        let model = try compiled(
            Sequential(seed: 27) {
                Input(shape: [4, 2]); Dense(3); lstm; Flatten(); Dense(1)
            }, loss: .meanSquaredError)
        let x = randomTensor([3, 4, 2], seed: 73), y = randomTensor([3, 1], seed: 74)
        try checkGradients(model, x: x, y: y, lossInTraining: true) { lstm.seed(99) }
    }

    /// GRU and SimpleRNN under dropout: the input mask and the state mask on the recurrent
    /// projection (GRU's update gate keeps the whole state), with the padding skipped too.
    func testGRUAndSimpleRNNDropoutBackpropagateThroughTheirMasks() throws {
        let recurrent: [any RecurrentLayer] = [
            GRU(3, returnSequences: true, dropout: 0.3, recurrentDropout: 0.4),
            SimpleRNN(3, returnSequences: true, dropout: 0.3, recurrentDropout: 0.4),
        ]
        for (index, layer) in recurrent.enumerated() {
            let model = try compiled(
                Sequential(seed: 29 + UInt64(index)) {
                    Input(shape: [4, 2]); Dense(3); layer; Flatten(); Dense(1)
                }, loss: .meanSquaredError)
            let x = randomTensor([3, 4, 2], seed: 76), y = randomTensor([3, 1], seed: 77)
            try checkGradients(model, x: x, y: y, lossInTraining: true) { (layer as? any RandomizedLayer)?.seed(99) }
        }
    }

    func testEmbeddingIntoLSTM() throws {
        let model = try compiled(
            Sequential(seed: 28) {
                Input(shape: [4]); Embedding(inputDim: 5, outputDim: 3); LSTM(2); Dense(1)
            },
            loss: .meanSquaredError)
        let indices = try Tensor(shape: [3, 4], scalars: [0, 4, 2, 2, 1, 3, 0, 4, 4, 4, 1, 0])
        try checkGradients(model, x: indices, y: randomTensor([3, 1], seed: 75))
    }

    func testStatefulBidirectionalFromCarriedState() throws {
        let model = try compiled(
            Sequential(seed: 20) {
                Input(shape: [3, 2], batchSize: 2); Bidirectional(LSTM(3, stateful: true)); Dense(1)
            },
            loss: .meanSquaredError)
        let first = randomTensor([2, 3, 2], seed: 50)
        try checkGradients(model, x: randomTensor([2, 3, 2], seed: 51), y: randomTensor([2, 1], seed: 52)) {
            model.resetStates()
            _ = try model.predict(first, batchSize: 2)
        }
    }

    func testFlattenAfterSequences() throws {
        let model = try compiled(
            Sequential(seed: 21) {
                Input(shape: [3, 2]); LSTM(2, returnSequences: true); Flatten(); Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 3, 2], seed: 53), y: randomTensor([2, 1], seed: 54))
    }

    func testDropoutUsesTheForwardMaskBackwardAndIsIdentityAtInference() throws {
        let layer = Dropout(0.5)
        _ = try layer.build(inputShape: [1000])
        layer.seed(1)
        let x = [Float](repeating: 2, count: 1000)
        let y = Array(UnsafeBufferPointer(start: layer.forward(x, batch: 1, training: true), count: 1000))
        XCTAssertEqual(Set(y), [0, 4])
        XCTAssertEqual(Double(y.filter { $0 == 0 }.count), 500, accuracy: 60)
        var dy = [Float](repeating: 1, count: 1000)
        let dx = dy.withUnsafeMutableBufferPointer {
            Array(UnsafeBufferPointer(start: layer.backward($0.baseAddress!, batch: 1, needsInputGradient: true), count: 1000))
        }
        XCTAssertEqual(dx, y.map { $0 / 2 })
        XCTAssertEqual(Array(UnsafeBufferPointer(start: layer.forward(x, batch: 1, training: false), count: 1000)), x)
    }

    /// Ties go to the first cell of the window, in the 8-channel vector path and the scalar one.
    func testMaxPoolingSendsEachGradientToTheFirstMaximum() throws {
        for channels in [8, 3, 11] {
            let pool = MaxPooling2D(poolSize: (2, 2))
            _ = try pool.build(inputShape: [2, 2, channels])
            // Cells in window order hold 1, 3, 3, 2 in every channel: the maximum 3 is tied.
            let x: [Float] = (0..<(4 * channels)).map { [1, 3, 3, 2][$0 / channels] }
            let y = Array(UnsafeBufferPointer(start: pool.forward(x, batch: 1, training: true), count: channels))
            XCTAssertEqual(y, Array(repeating: 3, count: channels))
            var dy = [Float](repeating: 1, count: channels)
            let dx = dy.withUnsafeMutableBufferPointer {
                Array(UnsafeBufferPointer(start: pool.backward($0.baseAddress!, batch: 1, needsInputGradient: true), count: 4 * channels))
            }
            XCTAssertEqual(dx, (0..<(4 * channels)).map { $0 / channels == 1 ? Float(1) : 0 }, "\(channels) channels")
        }
    }

    func testConv2DAndMaxPoolingValidAndSame() throws {
        for (index, padding) in Padding.allCases.enumerated() {
            let model = try compiled(
                Sequential(seed: 22 + UInt64(index)) {
                    Input(shape: [7, 7, 2])
                    Conv2D(2, kernelSize: (3, 2), strides: (1, 2), padding: padding, activation: .tanh)
                    Conv2D(2, kernelSize: (2, 2), padding: padding)
                    MaxPooling2D(poolSize: (2, 2), padding: padding)
                    Flatten()
                    Dense(1)
                },
                loss: .meanSquaredError)
            try checkGradients(model, x: randomTensor([2, 7, 7, 2], seed: 60 + UInt64(index)), y: randomTensor([2, 1], seed: 62))
        }
    }

    /// Eight filters over enough windows (98, then 72) for the narrow products of builds with
    /// `WideGemm` on: the forward `columns · kernel` and the kernel gradient `columnsᵀ · dz`.
    func testConv2DWithEightFilters() throws {
        let model = try compiled(
            Sequential(seed: 23) {
                Input(shape: [9, 9, 1])
                Conv2D(8, kernelSize: (3, 3), activation: .tanh)
                Conv2D(8, kernelSize: (2, 2))
                Flatten()
                Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 9, 9, 1], seed: 65), y: randomTensor([2, 1], seed: 66))
    }

    /// Without pooling: a kernel perturbed by ε moves a window's values enough to change which
    /// one is the maximum, which no finite difference can follow (pooling is checked above, and
    /// against Keras in the cnn_lstm fixture).
    func testTimeDistributedConv2DIntoLSTM() throws {
        let model = try compiled(
            Sequential(seed: 24) {
                Input(shape: [3, 5, 5, 1])
                TimeDistributed(Conv2D(2, kernelSize: (3, 3), strides: (2, 2), activation: .tanh))
                TimeDistributed(Flatten())
                LSTM(3)
                Dense(1)
            },
            loss: .meanSquaredError)
        try checkGradients(model, x: randomTensor([2, 3, 5, 5, 1], seed: 63), y: randomTensor([2, 1], seed: 64))
    }

    func testGRUAndSimpleRNNEveryDirection() throws {
        for backwards in [false, true] {
            let model = try compiled(
                Sequential(seed: 25) {
                    Input(shape: [4, 2]); Dense(3)
                    GRU(3, returnSequences: true, goBackwards: backwards)
                    SimpleRNN(2, goBackwards: !backwards)
                    Dense(1)
                },
                loss: .meanSquaredError)
            try checkGradients(model, x: randomTensor([2, 4, 2], seed: 65), y: randomTensor([2, 1], seed: 66))
        }
    }

    func testStatefulGRUFromCarriedState() throws {
        let model = try compiled(
            Sequential(seed: 26) {
                Input(shape: [3, 2], batchSize: 2); GRU(3, returnSequences: true, stateful: true); SimpleRNN(2); Dense(1)
            },
            loss: .meanSquaredError)
        let first = randomTensor([2, 3, 2], seed: 67)
        try checkGradients(model, x: randomTensor([2, 3, 2], seed: 68), y: randomTensor([2, 1], seed: 69)) {
            model.resetStates()
            _ = try model.predict(first, batchSize: 2)
        }
    }
}
