/// A layer whose work is products of its weights, which knows the floating-point work of its
/// forward pass: those products, a multiply-add counting 2 (`LayerProfile`). Activations,
/// masks and copies are left out; a layer whose work is moving memory (Embedding's lookup,
/// pooling, Flatten, RepeatVector, Dropout) does not conform. A new layer with products
/// conforms here, or `loom bench --profile` shows none for it.
protocol FlopCountingLayer: Layer {
    /// The FLOPs of one sample's forward pass, from the per-sample `input` and `output`
    /// shapes the layer was built with.
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double
    /// The part of them that multiplies the layer's input, which the backward pass repeats for
    /// the input's gradient (a model's first layer skips it); the rest (a recurrent layer's
    /// state products) it repeats for the state's gradient in any case.
    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double
}

extension FlopCountingLayer {
    /// A recurrent layer's products over `input` `(timesteps, features)`: each step multiplies
    /// the input by the kernel and the state by the recurrent kernel, `gates` × `units` wide.
    func recurrentFlops(input: [Int], units: Int, gates: Int) -> Double {
        guard input.count == 2 else { return 0 }
        return 2 * Double(input[0]) * Double(gates * units) * Double(input[1] + units)
    }

    /// A recurrent layer's products of the input alone.
    func recurrentInputFlops(input: [Int], units: Int, gates: Int) -> Double {
        guard input.count == 2 else { return 0 }
        return 2 * Double(input[0]) * Double(gates * units) * Double(input[1])
    }

    /// Every product multiplies the input (a layer without recurrence).
    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double { forwardFlopsPerSample(input: input, output: output) }
}

extension Dense: FlopCountingLayer {
    /// `x · kernel` on every row of the last axis.
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double {
        guard let inputWidth = input.last, inputWidth > 0 else { return 0 }
        return 2 * Double(Shape.count(input)) * Double(units)
    }
}

extension LSTM: FlopCountingLayer {
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double { recurrentFlops(input: input, units: units, gates: 4) }
    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double { recurrentInputFlops(input: input, units: units, gates: 4) }
}

extension GRU: FlopCountingLayer {
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double { recurrentFlops(input: input, units: units, gates: 3) }
    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double { recurrentInputFlops(input: input, units: units, gates: 3) }
}

extension SimpleRNN: FlopCountingLayer {
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double { recurrentFlops(input: input, units: units, gates: 1) }
    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double { recurrentInputFlops(input: input, units: units, gates: 1) }
}

extension Bidirectional: FlopCountingLayer {
    /// Both directions' products.
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double {
        2 * ((forwardLayer as? any FlopCountingLayer)?.forwardFlopsPerSample(input: input, output: []) ?? 0)
    }

    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double {
        2 * ((forwardLayer as? any FlopCountingLayer)?.inputFlopsPerSample(input: input, output: []) ?? 0)
    }
}

extension TimeDistributed: FlopCountingLayer {
    /// The wrapped layer's products on every step.
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double {
        guard let steps = input.first, let inner = layer as? any FlopCountingLayer else { return 0 }
        return Double(steps) * inner.forwardFlopsPerSample(input: Array(input.dropFirst()), output: Array(output.dropFirst()))
    }

    func inputFlopsPerSample(input: [Int], output: [Int]) -> Double {
        guard let steps = input.first, let inner = layer as? any FlopCountingLayer else { return 0 }
        return Double(steps) * inner.inputFlopsPerSample(input: Array(input.dropFirst()), output: Array(output.dropFirst()))
    }
}

extension Conv2D: FlopCountingLayer {
    /// Every output position's window `(kh, kw, channels)` times the kernel, for each filter.
    func forwardFlopsPerSample(input: [Int], output: [Int]) -> Double {
        guard input.count == 3, output.count == 3 else { return 0 }
        return 2 * Double(output[0] * output[1]) * Double(kernelSize.0 * kernelSize.1 * input[2]) * Double(filters)
    }
}
