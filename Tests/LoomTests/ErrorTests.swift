import TestSupport
import XCTest

@testable import Loom

/// Every refusal: a thrown, specific error whose message names what was expected and found,
/// and a model left as it was.
final class ErrorTests: XCTestCase {
    private func vanilla(batchSize: Int? = nil, stateful: Bool = false) throws -> Sequential {
        let model = Sequential {
            Input(shape: [4, 3], batchSize: batchSize); LSTM(5, stateful: stateful); Dense(1)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        return model
    }

    /// A shape whose element count overflows (found by fuzz-hdf5) is an error, not a trap.
    func testATensorShapeWhoseCountOverflowsIsRefused() {
        XCTAssertThrowsError(try Tensor(shape: [1 << 40, 1 << 40, 16], scalars: []))
        XCTAssertThrowsError(try Tensor(shape: [-1, -2], scalars: [1, 2]))
    }

    func testLSTMFedTwoDimensionalInputNamesBothLayers() {
        let model = Sequential {
            Input(shape: [6]); Dense(4); LSTM(3)
        }
        let text = message { try model.build() }
        XCTAssertEqual(text, "layer 'lstm' expects input of shape (batch, timesteps, features), but 'dense' before it gives (None, 4)")
    }

    func testWrapperShapeMistakesNameBothLayers() {
        let flat = Sequential {
            Input(shape: [6]); Dense(4); TimeDistributed(Dense(2))
        }
        XCTAssertEqual(
            message { try flat.build() },
            "layer 'time_distributed' expects input of shape (batch, timesteps, ...), but 'dense' before it gives (None, 4)")
        let sequence = Sequential {
            Input(shape: [5, 3]); LSTM(4, returnSequences: true); RepeatVector(2)
        }
        XCTAssertEqual(
            message { try sequence.build() },
            "layer 'repeat_vector' expects input of shape (batch, features), but 'lstm' before it gives (None, 5, 4)")
        let bidirectional = Sequential {
            Input(shape: [6]); Dense(4); Bidirectional(LSTM(3))
        }
        XCTAssertEqual(
            message { try bidirectional.build() },
            "layer 'bidirectional' expects input of shape (batch, timesteps, features), but 'dense' before it gives (None, 4)")
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [3]); Dropout(1)
                }.build()
            }, "Dropout 'dropout': rate must be in [0, 1), got 1.0")
    }

    func testAddingALayerAfterCompileNeedsANewCompile() throws {
        let model = Sequential {
            Input(shape: [3]); Dense(4, activation: .sigmoid)
        }
        try model.compile(optimizer: Adam(), loss: .binaryCrossentropy)
        model.add(Dense(1000))
        let (x, y) = (Tensor(shape: [4, 3]), Tensor(shape: [4, 1000]))
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, verbose: 0) },
            "model 'sequential' is not compiled: call compile(optimizer:loss:metrics:) before fit")
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        XCTAssertNoThrow(try model.fit(x: x, y: y, verbose: 0))
        // The first Dense is no longer the output: its sigmoid derivative must not be skipped.
        XCTAssertFalse((model.layers[0] as! Dense).receivesLogitGradient)
    }

    func testEmptyDimensionsAreRefused() {
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [3, 0]); Flatten()
                }.build()
            },
            "model 'sequential' input: expected shape positive dimensions, found (None, 3, 0)")
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [-3, 4]); Dense(2)
                }.build()
            },
            "model 'sequential' input: expected shape positive dimensions, found (None, -3, 4)")
    }

    func testQueriesBeforeBuildDoNotCrash() {
        XCTAssertEqual(Sequential { LSTM(2048) }.gradients(), [])
        let wide = Sequential {
            Input(shape: [2]); Dense(3, biasInitializer: .unitForgetBias(units: 1000))
        }
        XCTAssertNoThrow(try wide.build())
    }

    func testAModelWithoutInputLearnsItsShapeFromDataAndSurvivesAWrongFirstTry() throws {
        let model = Sequential {
            LSTM(4); Dense(1)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        XCTAssertTrue(
            message { _ = try model.predict(Tensor(shape: [2, 5])) }.contains("expects input of shape (batch, timesteps, features)"))
        XCTAssertNoThrow(try model.fit(x: Tensor(shape: [8, 3, 5]), y: Tensor(shape: [8, 1]), verbose: 0))
        XCTAssertEqual(model.inputShape, [3, 5])
    }

    func testAStatefulModelPredictsWithItsOwnBatchSizeByDefault() throws {
        let model = Sequential {
            Input(shape: [3, 2], batchSize: 8); LSTM(4, stateful: true); Dense(1)
        }
        XCTAssertEqual(try model.predict(Tensor(shape: [16, 3, 2])).shape, [16, 1])
    }

    func testAFailedParallelCheckLeavesNoPinnedThread() throws {
        let model = try vanilla()
        let before = CPUAffinity.currentMask()
        XCTAssertTrue(
            message { try model.fit(x: Tensor(shape: [8, 4, 3]), y: Tensor(shape: [8, 1]), batchSize: 2, verbose: 0, workers: 4) }
                .hasPrefix("a batch of 2 cannot be cut into 4 shards"))
        XCTAssertEqual(CPUAffinity.currentMask(), before)
    }

    func testAccuracyFollowsKeras3ByOutputWidth() {
        XCTAssertEqual(Metric.accuracy.resolved(width: 2), .categoricalAccuracy)
        XCTAssertEqual(Metric.accuracy.resolved(width: 1), .binaryAccuracy)
    }

    func testLSTMAsFirstLayerOnWrongRank() {
        let model = Sequential {
            Input(shape: [6]); LSTM(3)
        }
        XCTAssertTrue(message { try model.build() }.contains("'the input' before it gives (None, 6)"))
    }

    func testInputOfWrongShape() throws {
        let model = try vanilla()
        let before = try model.weights()
        let text = message { try model.fit(x: Tensor(shape: [8, 5, 3]), y: Tensor(shape: [8, 1]), verbose: 0) }
        XCTAssertEqual(text, "model 'sequential' input: expected shape (None, 4, 3), found (None, 5, 3)")
        XCTAssertEqual(try model.weights(), before)
    }

    func testTargetsOfWrongShape() throws {
        let model = try vanilla()
        let text = message { try model.fit(x: Tensor(shape: [8, 4, 3]), y: Tensor(shape: [8, 2]), verbose: 0) }
        XCTAssertEqual(text, "fit: y does not match the output of layer 'dense': expected shape (None, 1), found (8, 2)")
    }

    func testSampleCountsThatDiffer() throws {
        let model = try vanilla()
        let text = message { try model.fit(x: Tensor(shape: [8, 4, 3]), y: Tensor(shape: [7, 1]), verbose: 0) }
        XCTAssertEqual(text, "y: expected shape (8, ...) to match the 8 samples of x, found (7, 1)")
    }

    func testYOfShapeSamplesIsAcceptedForOneOutput() throws {
        let model = try vanilla()
        XCTAssertNoThrow(try model.fit(x: Tensor(shape: [8, 4, 3]), y: Tensor(shape: [8]), epochs: 1, verbose: 0))
    }

    func testNaNInInputOrTargets() throws {
        let model = try vanilla()
        let before = try model.weights()
        var x = Tensor(shape: [8, 4, 3])
        x[5, 2, 1] = .nan
        XCTAssertEqual(message { try model.fit(x: x, y: Tensor(shape: [8, 1]), verbose: 0) }, "x holds NaN or Inf at sample 5")
        var y = Tensor(shape: [8, 1])
        y[3, 0] = .infinity
        XCTAssertEqual(message { try model.fit(x: Tensor(shape: [8, 4, 3]), y: y, verbose: 0) }, "y holds NaN or Inf at sample 3")
        XCTAssertEqual(message { _ = try model.predict(x) }, "x holds NaN or Inf at sample 5")
        XCTAssertEqual(try model.weights(), before)
    }

    func testStatefulNeedsFixedBatchSize() {
        let model = Sequential {
            Input(shape: [4, 3]); LSTM(5, stateful: true)
        }
        XCTAssertEqual(
            message { try model.build() },
            "LSTM 'lstm' is stateful and needs a fixed batch size: start the model with Input(shape: [4, 3], batchSize: N)")
    }

    func testStatefulSamplesThatDoNotDivideTheBatch() throws {
        let model = try vanilla(batchSize: 4, stateful: true)
        let before = try model.weights()
        let text = message { try model.fit(x: Tensor(shape: [10, 4, 3]), y: Tensor(shape: [10, 1]), shuffle: false, verbose: 0) }
        XCTAssertTrue(text.hasPrefix("a stateful model needs the training samples (10) to be a multiple of the batch size (4)"), text)
        XCTAssertEqual(try model.weights(), before)
        XCTAssertTrue(
            message { _ = try model.predict(Tensor(shape: [10, 4, 3]), batchSize: 4) }
                .contains("samples (10) to be a multiple of the batch size (4)"))
    }

    func testStatefulValidationSplitThatDoesNotDivideTheBatch() throws {
        let model = try vanilla(batchSize: 4, stateful: true)
        let text = message {
            try model.fit(x: Tensor(shape: [16, 4, 3]), y: Tensor(shape: [16, 1]), shuffle: false, validationSplit: 0.1, verbose: 0)
        }
        XCTAssertTrue(text.contains("training samples (14)"), text)
    }

    func testStatefulShuffleIsRefusedUnlessForced() throws {
        let model = try vanilla(batchSize: 4, stateful: true)
        let (x, y) = (Tensor(shape: [8, 4, 3]), Tensor(shape: [8, 1]))
        XCTAssertTrue(message { try model.fit(x: x, y: y, verbose: 0) }.hasPrefix("a stateful model needs shuffle: false"))
        XCTAssertNoThrow(try model.fit(x: x, y: y, verbose: 0, allowStatefulShuffle: true))
    }

    func testStatefulFitWithAnotherBatchSize() throws {
        let model = try vanilla(batchSize: 4, stateful: true)
        XCTAssertEqual(
            message { try model.fit(x: Tensor(shape: [8, 4, 3]), y: Tensor(shape: [8, 1]), batchSize: 2, shuffle: false, verbose: 0) },
            "the stateful model was built for batches of 4 (Input(batchSize:)), got batchSize 2")
    }

    func testFitBeforeCompile() {
        let model = Sequential {
            Input(shape: [4, 3]); LSTM(5)
        }
        XCTAssertEqual(
            message { try model.fit(x: Tensor(shape: [8, 4, 3]), y: Tensor(shape: [8, 5]), verbose: 0) },
            "model 'sequential' is not compiled: call compile(optimizer:loss:metrics:) before fit")
    }

    func testBadArguments() throws {
        let model = try vanilla()
        let (x, y) = (Tensor(shape: [8, 4, 3]), Tensor(shape: [8, 1]))
        XCTAssertEqual(message { try model.fit(x: x, y: y, batchSize: 0, verbose: 0) }, "batchSize must be positive, got 0")
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, validationSplit: 1, verbose: 0) }, "fit: validationSplit must be in [0, 1), got 1.0")
        XCTAssertEqual(
            message { _ = try Loss(kerasName: "hinge") },
            "unknown loss 'hinge'; expected mse, mae, binary_crossentropy, categorical_crossentropy, "
                + "sparse_categorical_crossentropy, huber or log_cosh")
        XCTAssertEqual(
            message { _ = try Tensor(shape: [2, 3], scalars: [1, 2]) },
            "Tensor(shape:scalars:) with 2 values: expected shape with 2 elements, found (2, 3)")
        XCTAssertEqual(
            message { try model.setWeights([Tensor(shape: [3, 20])]) },
            "setWeights: the model has 5 weight tensors, got 1")
    }

    func testSetWeightsOfWrongShapeChangesNothing() throws {
        let model = try vanilla()
        var weights = try model.weights()
        let before = weights
        weights[1] = Tensor(shape: [4, 20])
        XCTAssertEqual(
            message { try model.setWeights(weights) },
            "setWeights, layer 'lstm' recurrent_kernel: expected shape (5, 20), found (4, 20)")
        XCTAssertEqual(try model.weights(), before)
    }

    func testEmbeddingIndicesOutsideTheVocabularyAreRefusedAndChangeNothing() throws {
        let model = Sequential(seed: 3) {
            Input(shape: [3]); Embedding(inputDim: 4, outputDim: 2); LSTM(2); Dense(1)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        let before = try model.weights()
        for (bad, shown) in [(Float(4), "4.0"), (-1, "-1.0"), (1.5, "1.5")] {
            let x = try Tensor(shape: [4, 3], scalars: [0, 1, 2, 3, 3, 2, 1, 0, 1, bad, 1, 1])
            let expected =
                "Embedding 'embedding': x holds \(shown) at sample 3, position 0; expected a whole number in 0..<4 (the inputDim)"
            XCTAssertEqual(message { try model.fit(x: x, y: Tensor(shape: [4, 1]), batchSize: 2, verbose: 0) }, expected)
            XCTAssertEqual(message { try model.fit(x: x, y: Tensor(shape: [4, 1]), batchSize: 4, verbose: 0, workers: 2) }, expected)
            XCTAssertEqual(message { _ = try model.predict(x) }, expected)
        }
        XCTAssertEqual(try model.weights(), before)
    }

    func testEmbeddingOnlyAsTheFirstLayer() {
        let expected = "Embedding 'embedding' must be the model's first layer, unwrapped: it reads indices from the data"
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [3]); Dense(3); Embedding(inputDim: 4, outputDim: 2)
                }.build()
            }, expected)
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [3, 1]); TimeDistributed(Embedding(inputDim: 4, outputDim: 2))
                }.build()
            },
            expected)
    }

    func testSizesBeyondMemoryAreRefusedBeforeAllocating() {
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [1 << 20, 1 << 20]); Dense(1)
                }.build()
            },
            "model 'sequential': the input of shape (None, 1048576, 1048576) holds more than 2147483647 values a sample")
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [4]); Dense(1 << 20); RepeatVector(1 << 20)
                }.build()
            },
            "model 'sequential': the output of layer 'repeat_vector' of shape (None, 1048576, 1048576) holds more than "
                + "2147483647 values a sample")
    }

    func testDropoutRatesOutsideTheirRange() {
        XCTAssertEqual(
            message {
                try Sequential {
                    Input(shape: [3, 2]); LSTM(2, recurrentDropout: 1)
                }.build()
            },
            "LSTM 'lstm': recurrentDropout must be in [0, 1), got 1.0")
    }
}
