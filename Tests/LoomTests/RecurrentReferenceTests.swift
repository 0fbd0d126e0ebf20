import Foundation
import TestSupport
import XCTest

@testable import Loom

/// `GRU` and `SimpleRNN` against `ReferenceGRU` and `ReferenceSimpleRNN`: the output of `predict`, the parameter
/// gradients of `lossAndGradients` under mean squared error, and the layer's own dL/dx, for unit counts that fill
/// 16-lane vectors and counts that do not, one sample and several, one timestep and several, the last output and
/// the whole sequence, both directions, other activations and no bias. The references themselves are checked first:
/// their backward passes against central differences of their forward passes, and both against Keras's numbers
/// (the gru and simple_rnn fixtures of `KerasParityTests`).
final class RecurrentReferenceTests: XCTestCase {
    // MARK: the references against their own forward passes

    /// With L = Σ dy ⊙ output for a fixed dy, dL/dθ is the backward pass of dy: central differences of the
    /// forward pass (in Double, ε = 1e-5: truncation ~1e-10, rounding ~1e-11) check every gradient of both
    /// references, in every direction and output mode.
    func testTheReferencesBackwardPassesDifferentiateTheirForwardPasses() {
        let (batch, timesteps, features, units) = (2, 4, 3, 4)
        let x = sequences(randomTensor([batch, timesteps, features], seed: 1))
        let modes = [(false, false), (true, false), (false, true), (true, true)]
        for (index, (returnSequences, goBackwards)) in modes.enumerated() {
            let seed = UInt64(10 * index)
            let dy = sequences(randomTensor([batch, returnSequences ? timesteps : 1, units], seed: seed + 2))
            let what = "returnSequences \(returnSequences), goBackwards \(goBackwards)"

            let gru = ReferenceGRU(
                units: units, activation: .tanh, recurrentActivation: .sigmoid,
                returnSequences: returnSequences, goBackwards: goBackwards,
                kernel: matrix(randomTensor([features, 3 * units], seed: seed + 3, scale: 0.5)),
                recurrentKernel: matrix(randomTensor([units, 3 * units], seed: seed + 4, scale: 0.5)),
                bias: matrix(randomTensor([2, 3 * units], seed: seed + 5, scale: 0.5)))
            func gruLoss(_ reference: ReferenceGRU, _ x: [[[Double]]]) -> Double {
                dot(flattened(reference.forward(x).output), flattened(dy))
            }
            let gruGradients = gru.backward(gru.forward(x), outputGradient: dy)
            let gruNumeric: [[Double]] = [
                numericGradient(of: gru.kernel) {
                    var r = gru; r.kernel = $0; return gruLoss(r, x)
                },
                numericGradient(of: gru.recurrentKernel) {
                    var r = gru; r.recurrentKernel = $0; return gruLoss(r, x)
                },
                numericGradient(of: gru.bias!) {
                    var r = gru; r.bias = $0; return gruLoss(r, x)
                },
            ].map { flattened($0) }
            for (name, (analytic, numeric)) in zip(
                ["kernel", "recurrent_kernel", "bias"],
                zip(gruGradients.kerasOrder, gruNumeric))
            {
                assertAgrees(analytic, numeric, tolerance: 1e-6, "reference GRU \(what) d\(name)")
            }
            assertAgrees(
                flattened(gruGradients.input), numericInputGradient(x) { gruLoss(gru, $0) },
                tolerance: 1e-6, "reference GRU \(what) dx")

            let rnn = ReferenceSimpleRNN(
                units: units, activation: .tanh, returnSequences: returnSequences, goBackwards: goBackwards,
                kernel: matrix(randomTensor([features, units], seed: seed + 6, scale: 0.5)),
                recurrentKernel: matrix(randomTensor([units, units], seed: seed + 7, scale: 0.5)),
                bias: doubles(randomTensor([units], seed: seed + 8, scale: 0.5)))
            func rnnLoss(_ reference: ReferenceSimpleRNN, _ x: [[[Double]]]) -> Double {
                dot(flattened(reference.forward(x).output), flattened(dy))
            }
            let rnnGradients = rnn.backward(rnn.forward(x), outputGradient: dy)
            let rnnNumeric: [[Double]] = [
                numericGradient(of: rnn.kernel) {
                    var r = rnn; r.kernel = $0; return rnnLoss(r, x)
                },
                numericGradient(of: rnn.recurrentKernel) {
                    var r = rnn; r.recurrentKernel = $0; return rnnLoss(r, x)
                },
                numericGradient(of: [rnn.bias!]) {
                    var r = rnn; r.bias = $0[0]; return rnnLoss(r, x)
                },
            ].map { flattened($0) }
            for (name, (analytic, numeric)) in zip(
                ["kernel", "recurrent_kernel", "bias"],
                zip(rnnGradients.kerasOrder, rnnNumeric))
            {
                assertAgrees(analytic, numeric, tolerance: 1e-6, "reference SimpleRNN \(what) d\(name)")
            }
            assertAgrees(
                flattened(rnnGradients.input), numericInputGradient(x) { rnnLoss(rnn, $0) },
                tolerance: 1e-6, "reference SimpleRNN \(what) dx")
        }
    }

    // MARK: the references against Keras

    /// gru.json: Keras's GRU(4, return_sequences=True), GRU(3, go_backwards=True), Dense(1) under mean squared
    /// error, from random weights (biases included): the references chained the same way give Keras's output,
    /// loss and gradients.
    func testReferenceGRUReproducesKerasOnItsFixture() throws {
        let fixture = try KerasFixture.load("gru")
        let w = fixture.weights.map(\.tensor)
        let first = ReferenceGRU(
            units: 4, activation: .tanh, recurrentActivation: .sigmoid, returnSequences: true, goBackwards: false,
            kernel: matrix(w[0]), recurrentKernel: matrix(w[1]), bias: matrix(w[2]))
        let second = ReferenceGRU(
            units: 3, activation: .tanh, recurrentActivation: .sigmoid, returnSequences: false, goBackwards: true,
            kernel: matrix(w[3]), recurrentKernel: matrix(w[4]), bias: matrix(w[5]))
        assertChainMatchesKeras(fixture, first, second, ReferenceDense(kernel: matrix(w[6]), bias: doubles(w[7])))
    }

    /// simple_rnn.json: Keras's SimpleRNN(4, return_sequences=True, go_backwards=True), SimpleRNN(3), Dense(1)
    /// under mean squared error, as for the GRU.
    func testReferenceSimpleRNNReproducesKerasOnItsFixture() throws {
        let fixture = try KerasFixture.load("simple_rnn")
        let w = fixture.weights.map(\.tensor)
        let first = ReferenceSimpleRNN(
            units: 4, activation: .tanh, returnSequences: true, goBackwards: true,
            kernel: matrix(w[0]), recurrentKernel: matrix(w[1]), bias: doubles(w[2]))
        let second = ReferenceSimpleRNN(
            units: 3, activation: .tanh, returnSequences: false, goBackwards: false,
            kernel: matrix(w[3]), recurrentKernel: matrix(w[4]), bias: doubles(w[5]))
        assertChainMatchesKeras(fixture, first, second, ReferenceDense(kernel: matrix(w[6]), bias: doubles(w[7])))
    }

    /// The fixtures' model, `first`, `second` and `dense` chained: its output, loss and gradients against Keras's.
    private func assertChainMatchesKeras<R: ReferenceRecurrentLayer>(
        _ fixture: KerasFixture, _ first: R, _ second: R, _ dense: ReferenceDense, line: UInt = #line
    ) {
        let firstPass = first.forward(sequences(fixture.x.tensor))
        let secondPass = second.forward(firstPass.output)
        let output = dense.forward(secondPass.output)
        let dOutput = meanSquaredErrorGradient(output, targets: fixture.y.tensor)
        let dDense = dense.backward(secondPass.output, outputGradient: dOutput)
        let dSecond = second.backward(secondPass, outputGradient: dDense.input)
        let dFirst = first.backward(firstPass, outputGradient: dSecond.input)
        assertMatchesKeras(
            fixture, output: output,
            gradients: dFirst.kerasOrder + dSecond.kerasOrder + [flattened(dDense.kernel), dDense.bias], line: line)
    }

    /// The output, the mean squared error and the gradients in Keras's weight order against a fixture's, to 1e-5
    /// (Keras computes in float32; the references, in Double, agree with it to about 3e-7).
    private func assertMatchesKeras(
        _ fixture: KerasFixture, output: [[[Double]]], gradients: [[Double]], line: UInt = #line
    ) {
        let predictions = flattened(output), targets = doubles(fixture.y.tensor)
        assertAgrees(
            predictions, doubles(fixture.output.tensor), tolerance: 1e-5, "\(fixture.name): output",
            line: line)
        let loss = zip(predictions, targets).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(targets.count)
        XCTAssertEqual(
            loss, fixture.loss_value, accuracy: 1e-5 * fixture.loss_value, "\(fixture.name): loss",
            line: line)
        XCTAssertEqual(gradients.count, fixture.gradients.count, "\(fixture.name): gradient count", line: line)
        for (index, (got, keras)) in zip(gradients, fixture.gradients).enumerated() {
            assertAgrees(
                got, doubles(keras.tensor), tolerance: 1e-5, "\(fixture.name): gradient \(index)",
                line: line)
        }
    }

    // MARK: the layers against the references

    func testGRUMatchesTheReferenceInEveryShape() throws {
        for (index, shape) in RecurrentReferenceTests.shapes.enumerated() {
            try checkGRU(shape, seed: UInt64(index + 1))
        }
    }

    func testSimpleRNNMatchesTheReferenceInEveryShape() throws {
        for (index, shape) in RecurrentReferenceTests.shapes.enumerated() {
            try checkSimpleRNN(shape, seed: UInt64(index + 101))
        }
    }

    /// The candidate activation and the gates' activation other than tanh and sigmoid, with and without a bias,
    /// with one feature and with 17 (a 16-lane vector and one more).
    func testGRUWithOtherActivationsAndWithoutBias() throws {
        let cases = [
            RecurrentCase(
                units: 20, batch: 5, timesteps: 7, features: 17, returnSequences: true, goBackwards: false,
                activation: .relu, recurrentActivation: .hardSigmoid),
            RecurrentCase(
                units: 16, batch: 3, timesteps: 5, features: 1, returnSequences: false, goBackwards: true,
                activation: .relu, recurrentActivation: .hardSigmoidKeras2, useBias: false),
            RecurrentCase(
                units: 3, batch: 5, timesteps: 7, features: 4, returnSequences: true, goBackwards: true,
                activation: .linear, recurrentActivation: .sigmoid, useBias: false),
            RecurrentCase(
                units: 16, batch: 2, timesteps: 6, features: 2, returnSequences: false, goBackwards: false,
                activation: .sigmoid, recurrentActivation: .hardSigmoid),
            RecurrentCase(
                units: 20, batch: 1, timesteps: 7, features: 3, returnSequences: false, goBackwards: false,
                useBias: false),
        ]
        for (index, test) in cases.enumerated() { try checkGRU(test, seed: UInt64(index + 201)) }
    }

    /// As for the GRU: activations other than tanh, no bias, one feature and 17.
    func testSimpleRNNWithOtherActivationsAndWithoutBias() throws {
        let cases = [
            RecurrentCase(
                units: 20, batch: 5, timesteps: 7, features: 17, returnSequences: true, goBackwards: false,
                activation: .relu),
            RecurrentCase(
                units: 16, batch: 3, timesteps: 5, features: 1, returnSequences: false, goBackwards: true,
                activation: .relu, useBias: false),
            RecurrentCase(
                units: 3, batch: 5, timesteps: 7, features: 4, returnSequences: true, goBackwards: true,
                activation: .sigmoid),
            RecurrentCase(
                units: 16, batch: 2, timesteps: 6, features: 2, returnSequences: false, goBackwards: false,
                activation: .hardSigmoid),
            RecurrentCase(
                units: 20, batch: 1, timesteps: 7, features: 3, returnSequences: true, goBackwards: false,
                activation: .linear, useBias: false),
        ]
        for (index, test) in cases.enumerated() { try checkSimpleRNN(test, seed: UInt64(index + 301)) }
    }

    /// Every combination of 3, 16 (one whole 16-lane vector) and 20 units (one and a partial one), a batch of 1
    /// and of 5, 1 and 7 timesteps, the last output and the whole sequence, forwards and backwards; 3 features.
    private static var shapes: [RecurrentCase] {
        var shapes: [RecurrentCase] = []
        for units in [3, 16, 20] {
            for batch in [1, 5] {
                for timesteps in [1, 7] {
                    for returnSequences in [false, true] {
                        for goBackwards in [false, true] {
                            shapes.append(
                                RecurrentCase(
                                    units: units, batch: batch, timesteps: timesteps, features: 3,
                                    returnSequences: returnSequences, goBackwards: goBackwards))
                        }
                    }
                }
            }
        }
        return shapes
    }

    // MARK: one case

    private func checkGRU(
        _ test: RecurrentCase, seed: UInt64, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let layer = GRU(
            test.units, activation: test.activation, recurrentActivation: test.recurrentActivation,
            useBias: test.useBias, returnSequences: test.returnSequences, goBackwards: test.goBackwards)
        try check(layer, test, seed: seed, name: "GRU", file: file, line: line) { weights in
            ReferenceGRU(
                units: test.units, activation: test.activation, recurrentActivation: test.recurrentActivation,
                returnSequences: test.returnSequences, goBackwards: test.goBackwards,
                kernel: matrix(weights[0]), recurrentKernel: matrix(weights[1]),
                bias: test.useBias ? matrix(weights[2]) : nil)
        }
    }

    private func checkSimpleRNN(
        _ test: RecurrentCase, seed: UInt64, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let layer = SimpleRNN(
            test.units, activation: test.activation, useBias: test.useBias,
            returnSequences: test.returnSequences, goBackwards: test.goBackwards)
        try check(layer, test, seed: seed, name: "SimpleRNN", file: file, line: line) { weights in
            ReferenceSimpleRNN(
                units: test.units, activation: test.activation,
                returnSequences: test.returnSequences, goBackwards: test.goBackwards,
                kernel: matrix(weights[0]), recurrentKernel: matrix(weights[1]),
                bias: test.useBias ? doubles(weights[2]) : nil)
        }
    }

    /// `layer` alone in a model, with random weights (biases too), against the reference made from those
    /// weights: output, loss gradient, parameter and input gradients.
    private func check<R: ReferenceRecurrentLayer>(
        _ layer: any Layer, _ test: RecurrentCase, seed: UInt64, name: String, file: StaticString, line: UInt,
        reference makeReference: ([Tensor]) -> R
    ) throws {
        let model = Sequential(seed: seed) {
            Input(shape: [test.timesteps, test.features]); layer
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let reference = makeReference(try weightsWithRandomBias(model, seed: seed &+ 1000))
        let x = randomTensor([test.batch, test.timesteps, test.features], seed: seed)
        let y = randomTensor(test.outputShape, seed: seed &+ 2000)
        let pass = reference.forward(sequences(x))
        let dy = meanSquaredErrorGradient(pass.output, targets: y)
        let gradients = reference.backward(pass, outputGradient: dy)
        try assertLayerMatches(
            model: model, layer: layer, x: x, y: y, output: pass.output, outputGradient: dy,
            parameterGradients: gradients.kerasOrder, inputGradient: gradients.input, "\(name) \(test)",
            file: file, line: line)
    }

    /// The model's weights with its bias (zeros when initialised) replaced by random values, so that the
    /// comparisons exercise it.
    private func weightsWithRandomBias(_ model: Sequential, seed: UInt64) throws -> [Tensor] {
        var weights = try model.weights()
        if weights.count == 3 { weights[2] = randomTensor(weights[2].shape, seed: seed, scale: 0.5) }
        try model.setWeights(weights)
        return try model.weights()
    }

    /// Compares `layer`, the only layer of `model`, with a reference's results on `x`:
    ///
    /// - `predict` against `output` (relative tolerance 1e-5),
    /// - the parameter gradients of `lossAndGradients(x:y:)` (mean squared error) against `parameterGradients`,
    ///   in Keras's weight order (1e-4),
    /// - and dL/dx against `inputGradient` (1e-4): the model does not compute its first layer's input gradient,
    ///   so the layer's own `forward` and `backward` are called with `outputGradient`, the reference's dL/doutput.
    ///
    /// Each tolerance is relative to the largest magnitude of the expected values (see `assertAgrees`).
    private func assertLayerMatches(
        model: Sequential, layer: any Layer, x: Tensor, y: Tensor, output: [[[Double]]],
        outputGradient: [[[Double]]], parameterGradients: [[Double]], inputGradient: [[[Double]]], _ what: String,
        file: StaticString, line: UInt
    ) throws {
        let batch = x.sampleCount
        let prediction = try model.predict(x, batchSize: batch)
        XCTAssertEqual(prediction.shape, y.shape, "\(what): output shape", file: file, line: line)
        assertAgrees(
            prediction.scalars.map { Double($0) }, flattened(output), tolerance: 1e-5, "\(what): output",
            file: file, line: line)

        let gradients = try model.lossAndGradients(x: x, y: y).gradients
        let names = layer.parameterSpecs.map(\.name)
        XCTAssertEqual(gradients.count, parameterGradients.count, "\(what): parameter count", file: file, line: line)
        for (index, (got, expected)) in zip(gradients, parameterGradients).enumerated() {
            assertAgrees(
                got.scalars.map { Double($0) }, expected, tolerance: 1e-4, "\(what): d\(names[index])",
                file: file, line: line)
        }

        var dy = flattened(outputGradient).map { Float($0) }
        let inputCount = x.scalars.count
        let dx = x.scalars.withUnsafeBufferPointer { input -> [Float] in
            _ = layer.forward(input.baseAddress!, batch: batch, training: true)
            return dy.withUnsafeMutableBufferPointer { gradient -> [Float] in
                let inputGradient = layer.backward(gradient.baseAddress!, batch: batch, needsInputGradient: true)
                guard let inputGradient else { return [] }
                return Array(UnsafeBufferPointer(start: inputGradient, count: inputCount))
            }
        }
        assertAgrees(
            dx.map { Double($0) }, flattened(inputGradient), tolerance: 1e-4, "\(what): dx",
            file: file, line: line)
    }

    /// Asserts `got` and `expected` have the same count and differ nowhere by more than `tolerance` times the
    /// largest magnitude of `expected`: values near zero, which cancellation leaves with a larger relative
    /// error in float32, are judged on the scale of the whole tensor.
    private func assertAgrees(
        _ got: [Double], _ expected: [Double], tolerance: Double, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(got.count, expected.count, "\(what): count", file: file, line: line)
        guard got.count == expected.count, !got.isEmpty else { return }
        let scale = max(expected.map(abs).max()!, 1e-30)
        var worst = 0.0, worstIndex = 0
        for i in got.indices {
            let error = abs(got[i] - expected[i]) / scale
            if !(error <= worst) { (worst, worstIndex) = (error, i) }
        }
        XCTAssertLessThanOrEqual(
            worst, tolerance,
            "\(what): worst error \(worst) of the largest magnitude \(scale), at \(worstIndex): "
                + "\(got[worstIndex]) vs \(expected[worstIndex])",
            file: file, line: line)
    }
}

/// A recurrent layer's configuration and the shape of its batch. `recurrentActivation` is the GRU's only.
private struct RecurrentCase: CustomStringConvertible {
    var units: Int
    var batch: Int
    var timesteps: Int
    var features: Int
    var returnSequences: Bool
    var goBackwards: Bool
    var activation: Activation = .tanh
    var recurrentActivation: Activation = .sigmoid
    var useBias = true

    /// The model's output, batch included: `(batch, timesteps, units)` or `(batch, units)`.
    var outputShape: [Int] { returnSequences ? [batch, timesteps, units] : [batch, units] }

    var description: String {
        "units \(units), batch \(batch), timesteps \(timesteps), features \(features), "
            + "returnSequences \(returnSequences), goBackwards \(goBackwards), activation \(activation), "
            + "recurrentActivation \(recurrentActivation), useBias \(useBias)"
    }
}

// MARK: - Test helpers

/// dL/doutput of mean squared error as Loom (and Keras) reduce it, the mean over every output value:
/// L = Σ (p − y)² / count, so dL/dp = 2·(p − y) / count, with count = batch · (timesteps or 1) · units.
private func meanSquaredErrorGradient(_ output: [[[Double]]], targets y: Tensor) -> [[[Double]]] {
    let p = flattened(output)
    precondition(p.count == y.scalars.count, "targets of \(y.shape) for \(p.count) outputs")
    let count = Double(p.count)
    let gradient = zip(p, y.scalars).map { 2 * ($0 - Double($1)) / count }
    return nested(gradient, output.count, output[0].count, output[0][0].count)
}

/// A tensor's values in row-major order, in Double.
private func doubles(_ tensor: Tensor) -> [Double] { tensor.scalars.map { Double($0) } }

/// A 2-D tensor as its rows, in Double.
private func matrix(_ tensor: Tensor) -> [[Double]] {
    precondition(tensor.rank == 2, "a matrix from a tensor of shape \(tensor.shape)")
    let columns = tensor.shape[1]
    return (0..<tensor.shape[0]).map { row in
        tensor.scalars[row * columns..<(row + 1) * columns].map { Double($0) }
    }
}

/// A 3-D tensor `(batch, timesteps, features)` as nested arrays `x[b][t][f]`, in Double.
private func sequences(_ tensor: Tensor) -> [[[Double]]] {
    precondition(tensor.rank == 3, "sequences from a tensor of shape \(tensor.shape)")
    return nested(tensor.scalars.map { Double($0) }, tensor.shape[0], tensor.shape[1], tensor.shape[2])
}

/// Row-major `flat` values as nested arrays `(a, b, c)`.
private func nested(_ flat: [Double], _ a: Int, _ b: Int, _ c: Int) -> [[[Double]]] {
    precondition(flat.count == a * b * c, "\(flat.count) values for (\(a), \(b), \(c))")
    return (0..<a).map { i in (0..<b).map { j in Array(flat[(i * b + j) * c..<(i * b + j + 1) * c]) } }
}

/// Nested arrays' values in row-major order.
private func flattened(_ values: [[[Double]]]) -> [Double] { values.flatMap { $0.flatMap { $0 } } }

/// A matrix's values in row-major order.
private func flattened(_ values: [[Double]]) -> [Double] { values.flatMap { $0 } }

private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// Central differences, ε = 1e-5, of `loss` along every entry of `matrix`.
private func numericGradient(of matrix: [[Double]], _ loss: ([[Double]]) -> Double) -> [[Double]] {
    let epsilon = 1e-5
    var gradient = matrix
    for i in matrix.indices {
        for j in matrix[i].indices {
            var plus = matrix, minus = matrix
            plus[i][j] += epsilon
            minus[i][j] -= epsilon
            gradient[i][j] = (loss(plus) - loss(minus)) / (2 * epsilon)
        }
    }
    return gradient
}

/// Central differences of `loss` along every input value, flattened `(batch, timesteps, features)`.
private func numericInputGradient(_ x: [[[Double]]], _ loss: ([[[Double]]]) -> Double) -> [Double] {
    x.indices.flatMap { b in
        flattened(
            numericGradient(of: x[b]) { sample in
                var perturbed = x
                perturbed[b] = sample
                return loss(perturbed)
            })
    }
}

// MARK: - The references

/// Keras's activations and their derivatives in Double, from the pre-activation, written from Keras's formulas:
/// independent of Loom's kernels (which compute in Float, and the derivative from the output).
extension Activation {
    func referenceValue(at x: Double) -> Double {
        switch self {
        case .linear: return x
        case .relu: return max(x, 0)
        case .sigmoid: return 1 / (1 + exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .hardSigmoid: return min(max((x + 3) / 6, 0), 1)  // Keras 3: relu6(x + 3) / 6
        case .hardSigmoidKeras2: return min(max(0.2 * x + 0.5, 0), 1)  // Keras 2: clip(0.2·x + 0.5, 0, 1)
        case .softmax: preconditionFailure("softmax is not an elementwise activation")
        }
    }

    /// f'(x); at a kink, the derivative of the side that Loom's derivative-from-the-output takes (0 for relu at 0,
    /// 0 for the hard sigmoids where they reach 0 or 1).
    func referenceDerivative(at x: Double) -> Double {
        switch self {
        case .linear: return 1
        case .relu: return x > 0 ? 1 : 0
        case .sigmoid:
            let y = referenceValue(at: x)
            return y * (1 - y)
        case .tanh:
            let y = Foundation.tanh(x)
            return 1 - y * y
        case .hardSigmoid: return x > -3 && x < 3 ? 1.0 / 6 : 0
        case .hardSigmoidKeras2: return x > -2.5 && x < 2.5 ? 0.2 : 0
        case .softmax: preconditionFailure("softmax is not an elementwise activation")
        }
    }
}

/// The small linear algebra of the references, on plain arrays.
enum ReferenceAlgebra {
    /// v·M: a row vector v `(n)` times a matrix M `(n, k)`, giving `(k)`.
    static func product(_ v: [Double], _ m: [[Double]]) -> [Double] {
        precondition(v.count == m.count, "(\(v.count)) · (\(m.count), _)")
        var result = [Double](repeating: 0, count: m.first?.count ?? 0)
        for i in v.indices {
            for j in result.indices { result[j] += v[i] * m[i][j] }
        }
        return result
    }

    /// v·Mᵀ: a row vector v `(k)` times the transpose of M `(n, k)`, giving `(n)`.
    static func productWithTranspose(_ v: [Double], _ m: [[Double]]) -> [Double] {
        m.map { row in
            precondition(row.count == v.count, "(\(v.count)) · (_, \(row.count))ᵀ")
            return zip(v, row).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    /// M += aᵀ·b: the outer product of a `(n)` and b `(k)` added to M `(n, k)`.
    static func addOuterProduct(_ a: [Double], _ b: [Double], to m: inout [[Double]]) {
        for i in a.indices {
            for j in b.indices { m[i][j] += a[i] * b[j] }
        }
    }

    /// a + b, elementwise.
    static func sum(_ a: [Double], _ b: [Double]) -> [Double] {
        precondition(a.count == b.count, "(\(a.count)) + (\(b.count))")
        return zip(a, b).map { $0 + $1 }
    }

    static func zeros(_ count: Int) -> [Double] { [Double](repeating: 0, count: count) }

    static func zeros(_ rows: Int, _ columns: Int) -> [[Double]] { Array(repeating: zeros(columns), count: rows) }
}

/// How every recurrent reference walks a sequence.
enum ReferenceSequence {
    /// The input timesteps in the order the layer reads them: 0, 1, ..., T − 1, or T − 1, ..., 0 with
    /// `goBackwards` (Keras's `go_backwards`; the output sequence is then in reading order, as Keras's).
    static func readingOrder(timesteps: Int, goBackwards: Bool) -> [Int] {
        goBackwards ? Array((0..<timesteps).reversed()) : Array(0..<timesteps)
    }

    /// The part of one sample's dL/doutput `dy`, `(steps, units)` or `(1, units)`, that falls on the state of
    /// reading step `s` of `steps`: row `s` of a sequence output, the only row at the last step, else none.
    static func outputGradient(_ dy: [[Double]], step s: Int, steps: Int, returnSequences: Bool) -> [Double]? {
        if returnSequences { return dy[s] }
        return s == steps - 1 ? dy[0] : nil
    }
}

/// Keras's linear `Dense` on the last output `(batch, 1, units)` of a recurrent reference, for chaining the
/// references as the Keras fixtures' models: p = h·W + b; backward dW = Σ hᵀ·dp, db = Σ dp, dL/dh = dp·Wᵀ.
struct ReferenceDense {
    /// W `(units, outputs)`.
    let kernel: [[Double]]
    /// b `(outputs)`.
    let bias: [Double]

    func forward(_ h: [[[Double]]]) -> [[[Double]]] {
        h.map { sample in sample.map { row in ReferenceAlgebra.sum(ReferenceAlgebra.product(row, kernel), bias) } }
    }

    /// dL/dh, dL/dW and dL/db from the input h and dL/dp.
    func backward(
        _ h: [[[Double]]], outputGradient dp: [[[Double]]]
    ) -> (input: [[[Double]]], kernel: [[Double]], bias: [Double]) {
        var dKernel = ReferenceAlgebra.zeros(kernel.count, bias.count), dBias = ReferenceAlgebra.zeros(bias.count)
        for (sample, sampleGradient) in zip(h, dp) {
            for (row, rowGradient) in zip(sample, sampleGradient) {
                ReferenceAlgebra.addOuterProduct(row, rowGradient, to: &dKernel)
                dBias = ReferenceAlgebra.sum(dBias, rowGradient)
            }
        }
        let input = dp.map { sample in sample.map { row in ReferenceAlgebra.productWithTranspose(row, kernel) } }
        return (input, dKernel, dBias)
    }
}

/// Keras's recurrent layers written for reading (`ReferenceGRU`, `ReferenceSimpleRNN`): each
/// gives one step forward and back; the loops over samples and time are shared here.
protocol ReferenceRecurrentLayer {
    associatedtype Step: ReferenceStep
    var units: Int { get }
    var returnSequences: Bool { get }
    var goBackwards: Bool { get }
    /// W `(features, gates·units)`.
    var kernel: [[Double]] { get }
    /// R `(units, gates·units)`.
    var recurrentKernel: [[Double]] { get }
    var hasBias: Bool { get }
    /// One step of one sample: h_t from x_t and h_{t−1}.
    func step(_ x: [Double], time: Int, previous h: [Double]) -> Step
    /// One step back from dh = dL/dh_t.
    func stepBackward(_ step: Step, dh: [Double]) -> ReferenceStepGradients
}

/// What every reference step keeps.
protocol ReferenceStep {
    /// t: the index of x_t in the input sequence (reading order is reversed with goBackwards).
    var time: Int { get }
    /// x_t `(features)`.
    var input: [Double] { get }
    /// h_{t−1} `(units)`.
    var previous: [Double] { get }
    /// h_t `(units)`.
    var state: [Double] { get }
}

/// One step's gradients: dL/d(x_t·W) and dL/d(h_{t−1}·R) (gates side by side), the bias rows'
/// gradients, and the part of dL/dh_{t−1} that does not go through R (nil: none).
struct ReferenceStepGradients {
    let input: [Double]
    let recurrent: [Double]
    let bias: [[Double]]
    let direct: [Double]?
}

/// A forward pass: the output and, per sample, the steps in reading order.
struct ReferencePass<Step> {
    /// `(batch, timesteps, units)` with returnSequences, else `(batch, 1, units)`.
    let output: [[[Double]]]
    /// `(batch, timesteps)`, in reading order.
    let steps: [[Step]]
}

/// The gradients of a backward pass.
struct ReferenceGradients {
    /// dL/dx `(batch, timesteps, features)`, in the input's time order.
    let input: [[[Double]]]
    /// dL/dW and dL/dR, of their shapes.
    let kernel: [[Double]]
    let recurrentKernel: [[Double]]
    /// dL/db by rows (GRU: b₀, b₁; SimpleRNN: b); nil without bias.
    let bias: [[Double]]?

    /// The parameter gradients flattened, in Keras's weight order (kernel, recurrent_kernel, then bias).
    var kerasOrder: [[Double]] {
        var order = [kernel.flatMap { $0 }, recurrentKernel.flatMap { $0 }]
        if let bias { order.append(bias.flatMap { $0 }) }
        return order
    }
}

extension ReferenceRecurrentLayer {
    /// Runs every sample of x `(batch, timesteps, features)` from a zero state.
    func forward(_ x: [[[Double]]]) -> ReferencePass<Step> {
        var output: [[[Double]]] = [], steps: [[Step]] = []
        for sample in x {
            var h = ReferenceAlgebra.zeros(units)
            var sampleSteps: [Step] = []
            for t in ReferenceSequence.readingOrder(timesteps: sample.count, goBackwards: goBackwards) {
                let step = self.step(sample[t], time: t, previous: h)
                sampleSteps.append(step)
                h = step.state
            }
            steps.append(sampleSteps)
            output.append(returnSequences ? sampleSteps.map(\.state) : [h])
        }
        return ReferencePass(output: output, steps: steps)
    }

    /// Backpropagation through time of `pass` for dL/doutput `outputGradient`, of the output's
    /// shape: dW += x_tᵀ·dxp, dR += h_{t−1}ᵀ·dhp, db += the step's bias rows, dL/dx_t = dxp·Wᵀ,
    /// dL/dh_{t−1} = direct + dhp·Rᵀ.
    func backward(_ pass: ReferencePass<Step>, outputGradient dy: [[[Double]]]) -> ReferenceGradients {
        let F = kernel.count
        var dKernel = ReferenceAlgebra.zeros(F, kernel[0].count)
        var dRecurrent = ReferenceAlgebra.zeros(units, recurrentKernel[0].count)
        var dBias: [[Double]] = []
        var dInput: [[[Double]]] = []
        for (b, steps) in pass.steps.enumerated() {
            var dx = ReferenceAlgebra.zeros(steps.count, F)
            var dh = ReferenceAlgebra.zeros(units)  // dL/dh_t
            for s in steps.indices.reversed() {
                let step = steps[s]
                if let fromOutput = ReferenceSequence.outputGradient(
                    dy[b], step: s, steps: steps.count, returnSequences: returnSequences)
                {
                    dh = ReferenceAlgebra.sum(dh, fromOutput)
                }
                let gradients = stepBackward(step, dh: dh)
                ReferenceAlgebra.addOuterProduct(step.input, gradients.input, to: &dKernel)
                ReferenceAlgebra.addOuterProduct(step.previous, gradients.recurrent, to: &dRecurrent)
                dBias = dBias.isEmpty ? gradients.bias : zip(dBias, gradients.bias).map(ReferenceAlgebra.sum)
                dx[step.time] = ReferenceAlgebra.productWithTranspose(gradients.input, kernel)
                let throughR = ReferenceAlgebra.productWithTranspose(gradients.recurrent, recurrentKernel)
                dh = gradients.direct.map { ReferenceAlgebra.sum($0, throughR) } ?? throughR
            }
            dInput.append(dx)
        }
        return ReferenceGradients(
            input: dInput, kernel: dKernel, recurrentKernel: dRecurrent, bias: hasBias ? dBias : nil)
    }
}

/// Keras's `GRU` with `reset_after=True` (its default, the cuDNN-compatible form, and Loom's), written for reading:
/// the test oracle of `GRU`. Plain nested arrays in Double, one sample and one step at a time.
///
/// Shapes, with F features, U units and the gates side by side in Keras's order z (update), r (reset),
/// h (candidate), each U columns wide:
///
///     x                  (batch, timesteps, F)
///     kernel W           (F, 3·U)    columns [0, U) z, [U, 2U) r, [2U, 3U) h
///     recurrent_kernel R (U, 3·U)    the same columns
///     bias               (2, 3·U)    row 0, b₀, for the input projection; row 1, b₁, for the recurrent one
///     output             (batch, timesteps, U) with returnSequences, else (batch, 1, U): the last state
///
/// Forward, for each step t in reading order (reversed with goBackwards), from h₀ = 0, with σ the recurrent
/// activation and act the activation:
///
///     xp = x_t·W + b₀                hp = h_{t−1}·R + b₁          (3·U each)
///     a_z = xp_z + hp_z              a_r = xp_r + hp_r            a_h = xp_h + r ⊙ hp_h
///     z = σ(a_z)                     r = σ(a_r)                   ĥ = act(a_h)
///     h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ
///
/// Backward (backpropagation through time), from dh = dL/dh_t, the output's gradient at step t plus what step
/// t + 1 sends back:
///
///     dĥ = dh ⊙ (1 − z)              dz = dh ⊙ (h_{t−1} − ĥ)
///     da_h = dĥ ⊙ act'(a_h)          da_z = dz ⊙ σ'(a_z)          da_r = da_h ⊙ hp_h ⊙ σ'(a_r)
///     dxp = (da_z, da_r, da_h)       dhp = (da_z, da_r, da_h ⊙ r)
///     dW += x_tᵀ·dxp                 dR += h_{t−1}ᵀ·dhp           db₀ += dxp        db₁ += dhp
///     dL/dx_t = dxp·Wᵀ               dL/dh_{t−1} = dh ⊙ z + dhp·Rᵀ
struct ReferenceGRU: ReferenceRecurrentLayer {
    let units: Int
    /// act, applied to the candidate (Keras's default tanh).
    let activation: Activation
    /// σ, applied to the update and reset gates (Keras's default sigmoid).
    let recurrentActivation: Activation
    let returnSequences: Bool
    let goBackwards: Bool
    /// W `(features, 3·units)`.
    var kernel: [[Double]]
    /// R `(units, 3·units)`.
    var recurrentKernel: [[Double]]
    /// `(2, 3·units)`: b₀ then b₁; nil for a layer without bias (both zero).
    var bias: [[Double]]?
    var hasBias: Bool { bias != nil }

    /// What one step computes, kept for the backward pass.
    struct Step: ReferenceStep {
        /// t: the index of x_t in the input sequence (reading order is reversed with goBackwards).
        let time: Int
        /// x_t `(features)`.
        let input: [Double]
        /// h_{t−1} `(units)`.
        let previous: [Double]
        /// The pre-activations a_z, a_r, a_h `(units)` each.
        let updatePreactivation: [Double]
        let resetPreactivation: [Double]
        let candidatePreactivation: [Double]
        /// z, r, ĥ `(units)` each.
        let update: [Double]
        let reset: [Double]
        let candidate: [Double]
        /// hp_h = h_{t−1}·R_h + b₁_h `(units)`: what the reset gate scales.
        let recurrentCandidate: [Double]
        /// h_t `(units)`.
        let state: [Double]
    }

    /// Gate `k` (0 z, 1 r, 2 h) of a `(3·units)` vector.
    private func gate(_ k: Int, of v: [Double]) -> [Double] { Array(v[k * units..<(k + 1) * units]) }

    /// One step of one sample: h_t from x_t and h_{t−1}.
    func step(_ x: [Double], time: Int, previous h: [Double]) -> Step {
        let zero = ReferenceAlgebra.zeros(3 * units)
        let xp = ReferenceAlgebra.sum(ReferenceAlgebra.product(x, kernel), bias?[0] ?? zero)
        let hp = ReferenceAlgebra.sum(ReferenceAlgebra.product(h, recurrentKernel), bias?[1] ?? zero)
        let aZ = ReferenceAlgebra.sum(gate(0, of: xp), gate(0, of: hp))
        let aR = ReferenceAlgebra.sum(gate(1, of: xp), gate(1, of: hp))
        let z = aZ.map { recurrentActivation.referenceValue(at: $0) }
        let r = aR.map { recurrentActivation.referenceValue(at: $0) }
        let hpH = gate(2, of: hp), xpH = gate(2, of: xp)
        let aH = (0..<units).map { j in xpH[j] + r[j] * hpH[j] }
        let candidate = aH.map { activation.referenceValue(at: $0) }
        let state = (0..<units).map { j in z[j] * h[j] + (1 - z[j]) * candidate[j] }
        return Step(
            time: time, input: x, previous: h, updatePreactivation: aZ, resetPreactivation: aR,
            candidatePreactivation: aH, update: z, reset: r, candidate: candidate, recurrentCandidate: hpH,
            state: state)
    }

    /// One step back from dh = dL/dh_t.
    func stepBackward(_ step: Step, dh: [Double]) -> ReferenceStepGradients {
        let U = units
        // h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ
        let dCandidate = (0..<U).map { j in dh[j] * (1 - step.update[j]) }
        let dUpdate = (0..<U).map { j in dh[j] * (step.previous[j] - step.candidate[j]) }
        // ĥ = act(a_h), a_h = xp_h + r ⊙ hp_h; z = σ(a_z); r = σ(a_r)
        let daH = (0..<U).map { j in dCandidate[j] * activation.referenceDerivative(at: step.candidatePreactivation[j]) }
        let daZ = (0..<U).map { j in dUpdate[j] * recurrentActivation.referenceDerivative(at: step.updatePreactivation[j]) }
        let daR = (0..<U).map { j in
            daH[j] * step.recurrentCandidate[j] * recurrentActivation.referenceDerivative(at: step.resetPreactivation[j])
        }
        // The projections' gradients, gates side by side.
        let dhpH = (0..<U).map { j in daH[j] * step.reset[j] }
        let dxp: [Double] = daZ + daR + daH, dhp: [Double] = daZ + daR + dhpH
        return ReferenceStepGradients(
            input: dxp, recurrent: dhp, bias: [dxp, dhp], direct: (0..<U).map { j in dh[j] * step.update[j] })
    }
}

/// Keras's `SimpleRNN`, written for reading: the test oracle of `SimpleRNN`. Plain nested arrays in Double, one
/// sample and one step at a time.
///
/// Shapes, with F features and U units:
///
///     x                  (batch, timesteps, F)
///     kernel W           (F, U)
///     recurrent_kernel R (U, U)
///     bias b             (U)
///     output             (batch, timesteps, U) with returnSequences, else (batch, 1, U): the last state
///
/// Forward, for each step t in reading order (reversed with goBackwards), from h₀ = 0:
///
///     a_t = x_t·W + h_{t−1}·R + b        h_t = act(a_t)
///
/// Backward (backpropagation through time), from dh = dL/dh_t, the output's gradient at step t plus what step
/// t + 1 sends back:
///
///     da = dh ⊙ act'(a_t)
///     dW += x_tᵀ·da      dR += h_{t−1}ᵀ·da      db += da
///     dL/dx_t = da·Wᵀ    dL/dh_{t−1} = da·Rᵀ
struct ReferenceSimpleRNN: ReferenceRecurrentLayer {
    let units: Int
    /// act (Keras's default tanh).
    let activation: Activation
    let returnSequences: Bool
    let goBackwards: Bool
    /// W `(features, units)`.
    var kernel: [[Double]]
    /// R `(units, units)`.
    var recurrentKernel: [[Double]]
    /// b `(units)`; nil for a layer without bias.
    var bias: [Double]?
    var hasBias: Bool { bias != nil }

    /// What one step computes, kept for the backward pass.
    struct Step: ReferenceStep {
        /// t: the index of x_t in the input sequence (reading order is reversed with goBackwards).
        let time: Int
        /// x_t `(features)`.
        let input: [Double]
        /// h_{t−1} `(units)`.
        let previous: [Double]
        /// a_t `(units)`.
        let preactivation: [Double]
        /// h_t `(units)`.
        let state: [Double]
    }

    /// One step of one sample: h_t from x_t and h_{t−1}.
    func step(_ x: [Double], time: Int, previous h: [Double]) -> Step {
        let projections = ReferenceAlgebra.sum(
            ReferenceAlgebra.product(x, kernel),
            ReferenceAlgebra.product(h, recurrentKernel))
        let a = ReferenceAlgebra.sum(projections, bias ?? ReferenceAlgebra.zeros(units))
        return Step(
            time: time, input: x, previous: h, preactivation: a,
            state: a.map { activation.referenceValue(at: $0) })
    }

    /// One step back from dh = dL/dh_t.
    func stepBackward(_ step: Step, dh: [Double]) -> ReferenceStepGradients {
        let da = (0..<units).map { j in dh[j] * activation.referenceDerivative(at: step.preactivation[j]) }
        return ReferenceStepGradients(input: da, recurrent: da, bias: [da], direct: nil)
    }
}
