import Foundation
import LoomKernels
import XCTest

@_spi(Kernels) @testable import Loom

/// The C kernels at every level this CPU has, against libm and plain Swift written from the
/// formulas (one value at a time, no vectors), with counts that end in partial vectors.
final class KernelTests: XCTestCase {
    private func tables() throws -> [(Kernels.Level, LoomKernelTable)] {
        try Kernels.supportedLevels.map { ($0, try XCTUnwrap(Kernels.table(at: $0))) }
    }

    private func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(generator.normal()) * scale }
    }

    func testTheLevelIsTheCPUsCappedByTheEnvironment() {
        XCTAssertLessThanOrEqual(Kernels.level, Kernels.supportedLevel)
        XCTAssertEqual(Kernels.supportedLevels.last, Kernels.supportedLevel)
        if let requested = ProcessInfo.processInfo.environment["LOOM_KERNEL_LEVEL"],
            let level = Kernels.Level.allCases.first(where: { $0.description == requested })
        {
            XCTAssertEqual(Kernels.level, min(level, Kernels.supportedLevel))
        } else if Kernels.requestedLevelProblem == nil {
            XCTAssertEqual(Kernels.level, Kernels.supportedLevel)
        }
        #if arch(x86_64)
        let flags =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        if !flags.isEmpty {
            XCTAssertEqual(Kernels.supportedLevel >= .avx2, flags.isSuperset(of: ["avx2", "fma"]))
            XCTAssertEqual(
                Kernels.supportedLevel >= .avx512,
                flags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]))
        }
        #endif
    }

    func testThePeakLoopCountsItsFlopsAtEveryLevel() throws {
        for (level, table) in try tables() {
            var flops = 0.0
            let sum = table.fmaPeakLoop(1000, &flops)
            XCTAssertTrue(sum.isFinite && sum > 0, "\(level)")
            XCTAssertEqual(flops, 2 * 12 * (level == .avx512 ? 16 : 8) * 1000, "\(level)")
        }
        let one = FMAPeak.measure(threads: 1, seconds: 0.01, rounds: 1)
        XCTAssertTrue(one.isFinite && one > 0)
        XCTAssertEqual(FMAPeak.level, Kernels.supportedLevel)
    }

    func testActivationsMatchLibm() throws {
        let x = (0..<4007).map { Float($0 - 2000) * 0.01 + 0.003 }
        // (activation, reference, tolerance, magnitude below which the error counts as absolute):
        // the piecewise-linear ones cancel near 0, where a fused multiply-add rounds once less.
        let references: [(Activation, (Float) -> Float, Float, Float)] = [
            (.sigmoid, { 1 / (1 + exp(-$0)) }, 5e-7, 1e-30), (.tanh, { tanh($0) }, 5e-7, 1e-30), (.relu, { max($0, 0) }, 0, 1),
            (.hardSigmoid, { min(max(($0 + 3) / 6, 0), 1) }, 1e-7, 1),
            (.hardSigmoidKeras2, { min(max(0.2 * $0 + 0.5, 0), 1) }, 1e-7, 1), (.linear, { $0 }, 0, 1),
        ]
        for (level, table) in try tables() {
            for (activation, reference, tolerance, floor) in references {
                var y = x
                table.activate(activation.kernelKind, &y, y.count)
                let worst = zip(y, x).map { abs($0 - reference($1)) / max(abs(reference($1)), floor) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, tolerance, "\(level) \(activation)")
                var gradient = values(x.count, seed: 3)
                let dy = gradient
                table.activationBackward(activation.kernelKind, y, &gradient, gradient.count)
                // A fused multiply-add (1 - y·y in one rounding) may differ from the plain formula in its last bit.
                for i in 0..<y.count {
                    let expected = dy[i] * activation.derivative(fromOutput: y[i])
                    XCTAssertEqual(gradient[i], expected, accuracy: 1e-6 * abs(dy[i]), "\(level) \(activation) at \(i)")
                }
            }
        }
    }

    func testColumnSumsAndOptimizers() throws {
        let (rows, columns) = (13, 37)
        let matrix = values(rows * columns, seed: 4), start = values(columns, seed: 5)
        let g = values(45, seed: 6), w0 = values(45, seed: 7), m0 = values(45, seed: 8, scale: 0.1)
        let s0 = values(45, seed: 9).map { $0 * $0 }
        for (level, table) in try tables() {
            var sums = start
            table.addColumnSums(matrix, rows, columns, &sums)
            for j in 0..<columns {
                let expected = (0..<rows).reduce(start[j]) { $0 + matrix[$1 * columns + j] }
                XCTAssertEqual(sums[j], expected, accuracy: 1e-5, "\(level) column sum \(j)")
            }

            var w = w0, v = m0
            table.sgd(&w, g, &v, w.count, 0.1, 0.9, true)
            for k in 0..<w.count {
                let velocity = 0.9 * m0[k] - 0.1 * g[k]
                XCTAssertEqual(v[k], velocity, accuracy: 1e-6, "\(level) sgd velocity")
                XCTAssertEqual(w[k], w0[k] + 0.9 * velocity - 0.1 * g[k], accuracy: 1e-6, "\(level) sgd")
            }
            w = w0
            table.sgd(&w, g, nil, w.count, 0.1, 0, false)
            for k in 0..<w.count { XCTAssertEqual(w[k], w0[k] - 0.1 * g[k], accuracy: 1e-6, "\(level) plain sgd") }

            var m = m0, second = s0
            w = w0
            table.adam(&w, g, &m, &second, w.count, 0.01, 0.1, 0.001, 1e-7)
            for k in 0..<w.count {
                let mk = m0[k] + (g[k] - m0[k]) * 0.1, vk = s0[k] + (g[k] * g[k] - s0[k]) * 0.001
                XCTAssertEqual(m[k], mk, accuracy: 1e-6, "\(level) adam m")
                XCTAssertEqual(second[k], vk, accuracy: 1e-6, "\(level) adam v")
                XCTAssertEqual(w[k], w0[k] - mk * 0.01 / (vk.squareRoot() + 1e-7), accuracy: 1e-5, "\(level) adam")
            }

            var squares = s0, momenta = m0
            w = w0
            table.rmsprop(&w, g, &squares, &momenta, w.count, 0.01, 0.9, 0.5, 1e-7)
            for k in 0..<w.count {
                let sk = 0.9 * s0[k] + 0.1 * g[k] * g[k], step = 0.01 * g[k] / (sk + 1e-7).squareRoot()
                XCTAssertEqual(squares[k], sk, accuracy: 1e-6, "\(level) rmsprop s")
                XCTAssertEqual(w[k], w0[k] - (0.5 * m0[k] + step), accuracy: 1e-5, "\(level) rmsprop")
            }
        }
    }

    /// The kernels of the optimizers after SGD, Adam and RMSprop, of clipping and of weight
    /// decay, against their formulas.
    func testLayerwiseOptimizersClippingAndDecay() throws {
        let g = values(45, seed: 16), w0 = values(45, seed: 17), m0 = values(45, seed: 18, scale: 0.1)
        let s0 = values(45, seed: 19).map { $0 * $0 }
        var signs = g
        signs[3] = 0
        func check(_ actual: [Float], _ expected: (Int) -> Float, _ what: String, accuracy: Float = 1e-5) {
            for k in actual.indices { XCTAssertEqual(actual[k], expected(k), accuracy: accuracy, "\(what) \(k)") }
        }
        for (level, table) in try tables() {
            var w = w0, a = s0
            table.adagrad(&w, g, &a, w.count, 0.01, 1e-7)
            check(a, { s0[$0] + g[$0] * g[$0] }, "\(level) adagrad a")
            check(w, { w0[$0] - 0.01 * g[$0] / (s0[$0] + g[$0] * g[$0] + 1e-7).squareRoot() }, "\(level) adagrad")

            var m = m0, u = s0
            w = w0
            table.adamax(&w, g, &m, &u, w.count, 0.01, 0.1, 0.999, 1e-7, 0.19)
            check(u, { max(0.999 * s0[$0], abs(g[$0])) }, "\(level) adamax u")
            check(
                w, { w0[$0] - 0.01 * (m0[$0] + (g[$0] - m0[$0]) * 0.1) / (0.19 * (max(0.999 * s0[$0], abs(g[$0])) + 1e-7)) },
                "\(level) adamax")

            var v = s0
            (m, w) = (m0, w0)
            table.nadam(&w, g, &m, &v, w.count, 0.01, 0.1, 0.001, 0.7, 0.2, 0.002, 1e-7)
            check(
                w,
                { k in
                    let mk = m0[k] + (g[k] - m0[k]) * 0.1, vk = s0[k] + (g[k] * g[k] - s0[k]) * 0.001
                    return w0[k] - (0.7 * mk + 0.2 * g[k]) * 0.01 / ((vk / 0.002).squareRoot() + 1e-7)
                }, "\(level) nadam")

            (m, w) = (m0, w0)
            table.lion(&w, signs, &m, w.count, 0.01, 0.9, 0.99)
            check(
                w,
                { k in
                    let c = 0.9 * m0[k] + 0.1 * signs[k]
                    return w0[k] - 0.01 * (c > 0 ? 1 : c < 0 ? -1 : 0)
                }, "\(level) lion")
            check(m, { 0.99 * m0[$0] + 0.01 * signs[$0] }, "\(level) lion m")

            var d = [Float](repeating: 0, count: 45)
            (m, v) = (m0, s0)
            table.lambDirections(g, &m, &v, &d, d.count, 0.1, 0.001, 0.19, 0.002, 1e-7)
            check(
                d,
                { k in
                    let mk = m0[k] + (g[k] - m0[k]) * 0.1, vk = s0[k] + (g[k] * g[k] - s0[k]) * 0.001
                    return (mk / 0.19) / ((vk / 0.002).squareRoot() + 1e-7)
                }, "\(level) lamb directions", accuracy: 1e-4)

            (m, w) = (m0, w0)
            table.lars(&w, g, &m, w.count, 0.5, 0.01, 0.9)
            check(w, { w0[$0] - (0.9 * m0[$0] + 0.5 * (g[$0] + 0.01 * w0[$0])) }, "\(level) lars")

            let squares = table.sumOfSquares(g, g.count)
            XCTAssertEqual(squares, g.reduce(0.0) { $0 + Double($1 * $1) }, accuracy: 1e-4, "\(level) sum of squares")
            XCTAssertEqual(table.sumOfSquares(g, 0), 0)
            var x = g
            table.scaleValues(&x, x.count, 0.25)
            check(x, { g[$0] * 0.25 }, "\(level) scale", accuracy: 0)
            x = g
            table.clipValues(&x, x.count, 0.5)
            check(x, { min(max(g[$0], -0.5), 0.5) }, "\(level) clip", accuracy: 0)
            w = w0
            table.decayWeights(&w, w.count, 0.1, 0.01)
            check(w, { w0[$0] - w0[$0] * 0.1 * 0.01 }, "\(level) decay", accuracy: 1e-7)
            w = w0
            table.subtractScaled(&w, g, w.count, 0.3)
            check(w, { w0[$0] - 0.3 * g[$0] }, "\(level) subtract scaled", accuracy: 1e-6)
        }
    }

    /// One pooled pixel: 8-channel groups and the channels left, ties going to the first cell,
    /// winners written only when asked for.
    func testMaxPoolPixel() throws {
        let channels = 19, cells = [0, 19, 190, 209, 380]
        var x = values(400, seed: 15).map { ($0 * 4).rounded() }  // coarse values: many ties
        x[19 + 3] = 100
        for (level, table) in try tables() {
            var y = [Float](repeating: 0, count: channels), winners = [Int](repeating: -1, count: channels)
            table.maxPoolPixel(x, cells, cells.count, channels, &y, &winners)
            for c in 0..<channels {
                let best = cells.map { x[$0 + c] }.max()!
                let first = cells.first { x[$0 + c] == best }! + c
                XCTAssertEqual(y[c], best, "\(level) channel \(c)")
                XCTAssertEqual(winners[c], first, "\(level) winner of channel \(c)")
            }
            XCTAssertEqual(winners[3], 22, "\(level)")
            table.maxPoolPixel(x, cells, cells.count, channels, &y, nil)
        }
    }

    /// The direct convolution and its kernel gradient against im2col (`gatherWindows`) and the
    /// same level's `smallGemm`, bit for bit, at every level: valid and same padding (an image
    /// smaller than its window among them), strides, 1 to 3 channels, 8 to 24 filters, with and
    /// without a bias, and more pixels than `smallGemm`'s depth chunk of 512; one-channel rows
    /// of fewer than, exactly and more than 16 inside pixels (the runs of 16), with edges.
    func testDirectConvolutionHasIm2colAndSmallGemmsBits() throws {
        for (input, window, strides, padding, filters, batch) in [
            ([9, 7, 1], (3, 3), (1, 1), Padding.valid, 8, 3), ([9, 7, 2], (3, 2), (2, 1), .same, 16, 3),
            ([6, 6, 3], (4, 4), (1, 2), .same, 24, 3), ([5, 8, 1], (5, 1), (1, 3), .valid, 8, 3),
            ([9, 7, 1], (3, 3), (1, 1), .valid, 8, 16), ([2, 2, 1], (3, 3), (1, 1), .same, 8, 5),
            ([16, 16, 1], (3, 3), (1, 1), .valid, 8, 2), ([7, 37, 1], (3, 3), (1, 1), .same, 16, 2),
            ([6, 40, 1], (2, 5), (2, 1), .valid, 24, 2), ([5, 21, 1], (5, 4), (1, 1), .same, 8, 2),
        ] {
            let g = WindowGeometry(input: input, window: window, strides: strides, padding: padding)
            let rows = batch * g.outputHeight * g.outputWidth, cells = window.0 * window.1 * input[2]
            let x = values(batch * Shape.count(input), seed: 21), kernel = values(cells * filters, seed: 22)
            let bias = values(filters, seed: 23), dz = values(rows * filters, seed: 24), start = values(cells * filters, seed: 25)
            var columns = [Float](repeating: 0, count: rows * cells)
            g.gatherWindows(x, into: &columns, batch: batch)
            var window = g.kernelWindow
            for (level, table) in try tables() {
                for withBias in [true, false] {
                    var expected = [Float](repeating: 0, count: rows * filters)
                    if withBias { for r in 0..<rows { for f in 0..<filters { expected[r * filters + f] = bias[f] } } }
                    table.smallGemm(false, rows, filters, cells, columns, cells, kernel, filters, &expected, filters)
                    var y = [Float](repeating: .nan, count: rows * filters)
                    table.convolve(x, kernel, withBias ? bias : nil, &y, batch, &window, filters)
                    XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern), "\(level) \(input) \(filters) bias \(withBias)")
                }
                var expected = start, gradient = start
                table.smallGemm(true, cells, filters, rows, columns, cells, dz, filters, &expected, filters)
                table.convolutionKernelGradient(x, dz, &gradient, batch, &window, filters)
                XCTAssertEqual(gradient.map(\.bitPattern), expected.map(\.bitPattern), "\(level) \(input) \(filters) gradient")
            }
        }
    }

    /// The cell's forward and backward against `ReferenceLSTMCell`, for unit counts with and
    /// without a partial 16-lane vector, with and without a bias, with the default and other
    /// activations, and enough rows for several blocks; the inference cell gives the forward's
    /// bits.
    func testLSTMCellMatchesTheReferenceAlgebra() throws {
        let cases: [(units: Int, rows: Int, gate: Activation, candidate: Activation, bias: Bool)] = [
            (3, 5, .sigmoid, .tanh, true), (10, 130, .sigmoid, .tanh, true), (16, 70, .sigmoid, .tanh, false),
            (35, 9, .hardSigmoid, .relu, true), (24, 7, .sigmoid, .tanh, true), (32, 4, .hardSigmoidKeras2, .tanh, true),
            (20, 3, .sigmoid, .linear, false),
        ]
        for (level, table) in try tables() {
            for test in cases {
                let (U, B) = (test.units, test.rows)
                let reference = ReferenceLSTMCell(units: U, gate: test.gate, candidate: test.candidate)
                let z0 = values(B * 4 * U, seed: 10, scale: 2), previous = values(B * U, seed: 11)
                let bias = test.bias ? values(4 * U, seed: 12) : nil
                var z = z0, cell = [Float](repeating: 0, count: B * U), hidden = cell, activated = cell
                var scratch = [Float](repeating: 0, count: B * U)
                table.lstmCellForward(
                    &z, bias, previous, &cell, &hidden, &activated, &scratch, B, U,
                    test.gate.kernelKind, test.candidate.kernelKind)
                let expected = reference.forward(gates: z0, bias: bias, previousCell: previous, rows: B)
                let what = "\(level) LSTM cell \(test)"
                assertClose(z, expected.gates, what + " gates")
                assertClose(cell, expected.cell, what + " cell")
                assertClose(hidden, expected.hidden, what + " hidden")
                assertClose(activated, expected.cellActivation, what + " act(c)")
                var inferredCell = [Float](repeating: .nan, count: B * U), inferredHidden = inferredCell
                // The scratch the kernel asks for, no more: 2 · min(rows, max(1, 4096 / 4U)) · U.
                var inferredGates = z0
                var inferenceScratch = [Float](repeating: 0, count: 2 * min(B, max(1, 4096 / (4 * U))) * U)
                table.lstmCellInference(
                    &inferredGates, bias, previous, &inferredCell, &inferredHidden, &inferenceScratch, B, U,
                    test.gate.kernelKind, test.candidate.kernelKind)
                XCTAssertEqual(inferredCell.map(\.bitPattern), cell.map(\.bitPattern), what + " inference cell")
                XCTAssertEqual(inferredHidden.map(\.bitPattern), hidden.map(\.bitPattern), what + " inference hidden")

                let dh = values(B * U, seed: 13), dc0 = values(B * U, seed: 14)
                // The gradients replace the gate values in place, as in the layer.
                var dc = dc0, dz = z
                dz.withUnsafeMutableBufferPointer { dz in
                    table.lstmCellBackward(
                        dz.baseAddress, previous, activated, dh, &dc, dz.baseAddress, B, U,
                        test.gate.kernelKind, test.candidate.kernelKind)
                }
                let gradients = reference.backward(
                    gates: z, previousCell: previous, cellActivation: activated,
                    hiddenGradient: dh, cellGradient: dc0, rows: B)
                assertClose(dz, gradients.gates, what + " dz")
                assertClose(dc, gradients.previousCell, what + " dc")
            }
        }
    }

    private func assertClose(_ got: [Float], _ expected: [Float], _ what: String, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, what, line: line)
        let worst = zip(got, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 2e-6, what, line: line)
    }
}

/// Keras's LSTM cell, one value at a time: the test oracle of the kernels' vector code. For
/// `rows` rows, gates z `(rows, 4·units)` in Keras's order i, f, c, o:
///
///     i = σ(z_i)   f = σ(z_f)   g = act(z_c)   o = σ(z_o)      (σ the gate activation)
///     c' = f ⊙ c + i ⊙ g        h' = o ⊙ act(c')
///
/// and backward, from dL/dh' and dL/dc':
///
///     dc = dc' + dh ⊙ o ⊙ act'(c')     do = dh ⊙ act(c')
///     di = dc ⊙ g   df = dc ⊙ c   dg = dc ⊙ i   dL/dc = dc ⊙ f
///     dz = (di ⊙ σ'(i), df ⊙ σ'(f), dg ⊙ act'(g), do ⊙ σ'(o))
struct ReferenceLSTMCell {
    let units: Int
    let gate: Activation
    let candidate: Activation

    private func apply(_ activation: Activation, _ x: Float) -> Float {
        switch activation {
        case .linear: return x
        case .relu: return max(x, 0)
        case .sigmoid: return 1 / (1 + exp(-x))
        case .tanh: return tanh(x)
        case .hardSigmoid: return min(max((x + 3) / 6, 0), 1)
        case .hardSigmoidKeras2: return min(max(0.2 * x + 0.5, 0), 1)
        case .softmax: preconditionFailure("softmax is not a cell activation")
        }
    }

    /// The activated gates, c', act(c') and h'.
    func forward(gates z: [Float], bias: [Float]?, previousCell c: [Float], rows: Int)
        -> (gates: [Float], cell: [Float], cellActivation: [Float], hidden: [Float])
    {
        let U = units, G = 4 * units
        var gates = z, cell = [Float](repeating: 0, count: rows * U), activated = cell, hidden = cell
        for r in 0..<rows {
            for j in 0..<G {
                let x = z[r * G + j] + (bias?[j] ?? 0)
                gates[r * G + j] = apply(j / U == 2 ? candidate : gate, x)
            }
            for j in 0..<U {
                let (i, f, g, o) = (gates[r * G + j], gates[r * G + U + j], gates[r * G + 2 * U + j], gates[r * G + 3 * U + j])
                cell[r * U + j] = f * c[r * U + j] + i * g
                activated[r * U + j] = apply(candidate, cell[r * U + j])
                hidden[r * U + j] = o * activated[r * U + j]
            }
        }
        return (gates, cell, activated, hidden)
    }

    /// dL/dz and dL/dc from the activated gates, c, act(c'), dL/dh' and dL/dc'.
    func backward(
        gates: [Float], previousCell c: [Float], cellActivation: [Float], hiddenGradient dh: [Float],
        cellGradient dcNext: [Float], rows: Int
    ) -> (gates: [Float], previousCell: [Float]) {
        let U = units, G = 4 * units
        var dz = [Float](repeating: 0, count: rows * G), dcPrevious = [Float](repeating: 0, count: rows * U)
        for r in 0..<rows {
            for j in 0..<U {
                let (i, f, g, o) = (gates[r * G + j], gates[r * G + U + j], gates[r * G + 2 * U + j], gates[r * G + 3 * U + j])
                let a = cellActivation[r * U + j], dhj = dh[r * U + j]
                let dc = dcNext[r * U + j] + dhj * o * candidate.derivative(fromOutput: a)
                dz[r * G + j] = dc * g * gate.derivative(fromOutput: i)
                dz[r * G + U + j] = dc * c[r * U + j] * gate.derivative(fromOutput: f)
                dz[r * G + 2 * U + j] = dc * i * candidate.derivative(fromOutput: g)
                dz[r * G + 3 * U + j] = dhj * a * gate.derivative(fromOutput: o)
                dcPrevious[r * U + j] = dc * f
            }
        }
        return (dz, dcPrevious)
    }
}
