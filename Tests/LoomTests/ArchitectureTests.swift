import XCTest

@testable import Loom

/// Each architecture of the notes, built through the public API and trained on a small task
/// it can only solve if its wiring works. Targets are uniform in [0, 1) unless said otherwise,
/// so predicting their mean scores 1/12 ≈ 0.083 (MSE): every threshold sits far below what a
/// model missing the needed information could reach.
final class ArchitectureTests: XCTestCase {
    private func uniform(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return try! Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in Float(generator.uniform()) })
    }

    private func train(_ model: Sequential, _ x: Tensor, _ y: Tensor, loss: Loss = .meanSquaredError, epochs: Int) throws -> Double {
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: loss)
        return try model.fit(x: x, y: y, epochs: epochs, batchSize: 32, verbose: 0)["loss"].last!
    }

    /// y = 2·x₀ − x₁ + 0.5 from a single timestep.
    func testOneToOne() throws {
        let x = uniform([256, 1, 2], seed: 1)
        var y = Tensor(shape: [256, 1])
        for s in 0..<256 { y[s, 0] = 2 * x[s, 0, 0] - x[s, 0, 1] + 0.5 }
        let loss = try train(
            Sequential(seed: 1) {
                Input(shape: [1, 2]); LSTM(8); Dense(1)
            }, x, y, epochs: 40)
        XCTAssertLessThan(loss, 0.005)
    }

    /// Output at step t is the input at step t − 1: needs memory at every step.
    func testManyToManyEchoesThePreviousStep() throws {
        let x = uniform([256, 8, 1], seed: 2)
        var y = Tensor(shape: [256, 8, 1])
        for s in 0..<256 { for t in 1..<8 { y[s, t, 0] = x[s, t - 1, 0] } }
        let model = Sequential(seed: 2) {
            Input(shape: [8, 1]); LSTM(16, returnSequences: true); TimeDistributed(Dense(1))
        }
        XCTAssertLessThan(try train(model, x, y, epochs: 40), 0.01)
    }

    /// Output (3 steps) is the first three input bits in reverse: the decoder has only the
    /// encoder's final state to go on. Chance is ln 2 ≈ 0.69 (binary cross-entropy).
    func testEncoderDecoderReversesThePrefix() throws {
        var generator = SeededGenerator(seed: 3)
        var x = Tensor(shape: [512, 6, 1]), y = Tensor(shape: [512, 3, 1])
        for s in 0..<512 {
            for t in 0..<6 { x[s, t, 0] = Float(generator.next() % 2) }
            for t in 0..<3 { y[s, t, 0] = x[s, 2 - t, 0] }
        }
        let model = Sequential(seed: 3) {
            Input(shape: [6, 1])
            LSTM(16)
            RepeatVector(3)
            LSTM(16, returnSequences: true)
            TimeDistributed(Dense(1, activation: .sigmoid))
        }
        XCTAssertLessThan(try train(model, x, y, loss: .binaryCrossentropy, epochs: 40), 0.1)
    }

    /// Output at step t is the input at step t + 1: only the backward direction has it.
    func testBidirectionalSeesTheFuture() throws {
        let x = uniform([256, 8, 1], seed: 4)
        var y = Tensor(shape: [256, 8, 1])
        for s in 0..<256 { for t in 0..<7 { y[s, t, 0] = x[s, t + 1, 0] } }
        for mode in Bidirectional.MergeMode.allCases {
            let model = Sequential(seed: 4) {
                Input(shape: [8, 1])
                Bidirectional(LSTM(16, returnSequences: true), mergeMode: mode)
                TimeDistributed(Dense(1))
            }
            XCTAssertLessThan(try train(model, x, y, epochs: 40), 0.01, "merge mode \(mode)")
        }
        let forwardOnly = Sequential(seed: 4) {
            Input(shape: [8, 1]); LSTM(16, returnSequences: true); TimeDistributed(Dense(1))
        }
        XCTAssertGreaterThan(try train(forwardOnly, x, y, epochs: 40), 0.05, "a forward LSTM cannot see step t + 1")
    }

    /// The sum of the sequence, through four LSTM layers: gradients must reach the bottom one.
    func testStackedSumsTheSequence() throws {
        let x = uniform([256, 6, 1], seed: 5)
        var y = Tensor(shape: [256, 1])
        for s in 0..<256 { for t in 0..<6 { y[s, 0] += x[s, t, 0] / 3 } }
        let model = Sequential(seed: 5) {
            Input(shape: [6, 1])
            LSTM(8, returnSequences: true)
            LSTM(8, returnSequences: true)
            LSTM(8, returnSequences: true)
            LSTM(8)
            Dense(1)
        }
        // The targets' variance is 6 · (1/12) / 9 ≈ 0.056.
        XCTAssertLessThan(try train(model, x, y, epochs: 40), 0.005)
    }

    /// A 2x2 bright blob at a random place in a 6x6 frame, or only noise.
    private func frame(_ image: inout Tensor, _ index: [Int], blob: Bool, at position: (Int, Int), generator: inout SeededGenerator) {
        for r in 0..<6 {
            for c in 0..<6 {
                let inBlob = blob && (position.0...position.0 + 1).contains(r) && (position.1...position.1 + 1).contains(c)
                image.scalars[(index[0] * 36 + r * 6 + c)] = inBlob ? 1 : Float(generator.uniform()) * 0.3
            }
        }
    }

    /// The fraction of frames (of 4) that show a blob: the convolution must find blobs
    /// anywhere, the LSTM count them. The targets' variance is 1/16.
    func testCNNLSTMCountsFramesWithABlob() throws {
        var generator = SeededGenerator(seed: 6)
        var frames = Tensor(shape: [256 * 4, 6, 6, 1]), y = Tensor(shape: [256, 1])
        for s in 0..<256 {
            for t in 0..<4 {
                let blob = generator.next() % 2 == 0
                let position = (Int(generator.next() % 5), Int(generator.next() % 5))
                frame(&frames, [s * 4 + t], blob: blob, at: position, generator: &generator)
                if blob { y[s, 0] += 0.25 }
            }
        }
        let x = try Tensor(shape: [256, 4, 6, 6, 1], scalars: frames.scalars)
        let model = Sequential(seed: 6) {
            Input(shape: [4, 6, 6, 1])
            TimeDistributed(Conv2D(4, kernelSize: (3, 3), activation: .relu))
            TimeDistributed(MaxPooling2D(poolSize: (2, 2)))
            TimeDistributed(Flatten())
            LSTM(8)
            Dense(1)
        }
        XCTAssertLessThan(try train(model, x, y, epochs: 40), 0.01)
    }

    /// From one image to a sequence: step t of the output is (blob row + t) / 8. The blob's row
    /// is uniform over 0...4, so a model blind to it scores at least 0.031.
    func testOneToManyUnrollsThePosition() throws {
        var generator = SeededGenerator(seed: 7)
        var x = Tensor(shape: [256, 6, 6, 1]), y = Tensor(shape: [256, 3, 1])
        for s in 0..<256 {
            let position = (Int(generator.next() % 5), Int(generator.next() % 5))
            frame(&x, [s], blob: true, at: position, generator: &generator)
            for t in 0..<3 { y[s, t, 0] = Float(position.0 + t) / 8 }
        }
        let model = Sequential(seed: 7) {
            Input(shape: [6, 6, 1])
            Conv2D(4, kernelSize: (3, 3), activation: .relu)
            MaxPooling2D(poolSize: (2, 2))
            Flatten()
            RepeatVector(3)
            LSTM(8, returnSequences: true)
            TimeDistributed(Dense(1))
        }
        XCTAssertLessThan(try train(model, x, y, epochs: 40), 0.005)
    }
}
