/// Keras's `Conv2D` in channels-last layout: per-sample `(height, width, channels)` →
/// `(outHeight, outWidth, filters)`.
///
/// Parameters, in Keras's order and layout: kernel `(kh, kw, channels, filters)`, bias
/// `(filters)`. Computed as im2col + one GEMM: every output position's window is copied into a
/// row of `columns (B·outH·outW, kh·kw·channels)`, in the kernel's (i, j, c) order, so
/// `y = columns · kernel` (the kernel read as a `(kh·kw·channels, filters)` matrix) is already
/// NHWC. Backward: `dkernel += columnsᵀ · dz`, `dcolumns = dz · kernelᵀ`, scattered back
/// (col2im) into dx.
///
/// Where im2col's products would both go to `SmallGemm` (narrow filters on small windows, at
/// the AVX-512 level: `runsDirect`), the layer skips im2col: the kernels' `convolve` and
/// `convolutionKernelGradient` read the windows from the images themselves with
/// `smallGemm`'s arithmetic, so the bits are the same, without the copy (which cost as much
/// as the product). Elsewhere the direct kernels were no faster (measured at AVX2).
public final class Conv2D: Layer {
    /// Empty until the model names it ("conv2d", "conv2d_1", ...), unless given to `init`.
    public var name: String
    /// "Conv2D", Keras's class name.
    public var typeName: String { "Conv2D" }
    /// The number of output channels.
    public let filters: Int
    /// The window's (height, width).
    public let kernelSize: (Int, Int)
    /// The window's step (down, across); default (1, 1).
    public let strides: (Int, Int)
    /// `.valid` (default) or `.same`, Keras's `padding`.
    public let padding: Padding
    /// Applied elementwise to the output (default `.linear`; softmax is refused).
    public let activation: Activation
    /// Whether to add a bias per filter (default true).
    public let useBias: Bool
    /// Fills the kernel `(kh, kw, channels, filters)` (default `.glorotUniform`).
    public let kernelInitializer: Initializer
    /// Fills the bias `(filters)` (default `.zeros`).
    public let biasInitializer: Initializer

    private var geometry = WindowGeometry()
    private var patch: Int { geometry.windowHeight * geometry.windowWidth * geometry.channels }
    private var positions: Int { geometry.outputHeight * geometry.outputWidth }
    private var parameters = KernelAndBias()
    private let columns = FloatBuffer()
    private let output = FloatBuffer()
    private let columnGradient = FloatBuffer()
    private let inputGradient = FloatBuffer()
    /// The last forward pass's input when it ran direct, which the backward pass then reads
    /// (the layer before, or the batch, keeps it until then); nil after an im2col pass.
    private var directInput: UnsafePointer<Float>?

    /// Whether `rows` output positions run direct: where im2col's product and its kernel
    /// gradient's would both go to `SmallGemm` (see the type's comment).
    private func runsDirect(rows: Int) -> Bool {
        WideGemm.isEnabled && SmallGemm.suitsNarrow(m: rows, n: filters)
            && SmallGemm.suitsNarrowTransposedA(m: patch, n: filters, k: rows) && patch <= Conv2D.mostDirectCells
    }

    /// The most window cells the kernels' direct convolution takes (`mostConvolutionCells`).
    private static let mostDirectCells = 64

    /// - Parameters:
    ///   - filters: output channels.
    ///   - kernelSize: (height, width) of the window.
    ///   - strides: default (1, 1).
    ///   - padding: `.valid` (default) or `.same`.
    ///   - activation: default linear.
    public init(
        _ filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
        activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros, name: String = ""
    ) {
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        self.name = name
    }

    /// Takes `(height, width, channels)` and returns `(outHeight, outWidth, filters)`; throws for a size or
    /// stride that is not positive, a softmax, or an image smaller than the kernel.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard filters > 0, kernelSize.0 > 0, kernelSize.1 > 0, strides.0 > 0, strides.1 > 0, activation != .softmax else {
            throw LoomError.invalidArgument("Conv2D '\(name)': filters, kernel size and strides must be positive (and no softmax)")
        }
        guard inputShape.count == 3 else {
            throw LoomError.shapeMismatch(
                context: "Conv2D '\(name)'", expected: "(batch, height, width, channels)", found: [-1] + inputShape)
        }
        geometry = WindowGeometry(input: inputShape, window: kernelSize, strides: strides, padding: padding)
        guard geometry.outputHeight > 0, geometry.outputWidth > 0 else {
            throw LoomError.shapeMismatch(
                context: "Conv2D '\(name)' with a \(kernelSize.0)x\(kernelSize.1) kernel",
                expected: "images at least as large as the kernel", found: [-1] + inputShape)
        }
        return [geometry.outputHeight, geometry.outputWidth, filters]
    }

    /// kernel `(kh, kw, channels, filters)`, then bias `(filters)` when `useBias`.
    public var parameterSpecs: [ParameterSpec] {
        KernelAndBias.specs(
            kernelShape: [kernelSize.0, kernelSize.1, geometry.channels, filters], useBias: useBias,
            kernelInitializer: kernelInitializer, biasInitializer: biasInitializer)
    }

    /// Points the kernel and bias at their slots of the model's buffers.
    public func bind(_ binding: ParameterBinding) { parameters.bind(binding, specs: parameterSpecs) }

    // MARK: forward: columns (B·P, patch) = im2col(x); y (B·P, filters) = act(columns · kernel + bias)

    /// im2col into `columns (batch·outH·outW, kh·kw·channels)`, one GEMM with the kernel, the bias and the
    /// activation (or, where `runsDirect`, the kernels' `convolve` on the images, the same sums);
    /// returns `(batch, outH, outW, filters)`, channels last.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let g = geometry, rows = batch * positions
        directInput = runsDirect(rows: rows) ? x : nil
        if directInput != nil {
            let y = output.reserveDiscarding(rows * filters)
            var window = g.kernelWindow
            Kernels.table.convolve(x, parameters.kernel, parameters.bias, y, batch, &window, filters)
            activation.apply(y, count: rows * filters)
            return UnsafePointer(y)
        }
        let cols = columns.reserveDiscarding(rows * patch)
        if padding == .same { cols.update(repeating: 0, count: rows * patch) }  // cells outside the image stay zero
        g.gatherWindows(x, into: cols, batch: batch)
        let y = output.reserveDiscarding(rows * filters)
        parameters.forward(cols, rows: rows, depth: patch, width: filters, into: y)
        activation.apply(y, count: rows * filters)
        return UnsafePointer(y)
    }

    // MARK: backward: dz = dy ⊙ f'(y); dkernel += colsᵀ·dz (or the kernels' direct sums); dbias += Σ dz;
    // dx = col2im(dz · kernelᵀ)

    /// Adds the kernel and bias gradients (overwriting `dy` with dL/dz) and returns dx
    /// `(batch, height, width, channels)`, scattered back by col2im, or nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let g = geometry, rows = batch * positions
        activation.backward(output: output.pointer, gradient: dy, rows: rows, width: filters)
        let dcols = needsInputGradient ? columnGradient.reserveDiscarding(rows * patch) : nil
        if let directInput {
            var window = g.kernelWindow
            Kernels.table.convolutionKernelGradient(directInput, dy, parameters.kernelGradient, batch, &window, filters)
            parameters.backwardLeavingKernel(dy, rows: rows, depth: patch, width: filters, inputGradient: dcols)
        } else {
            parameters.backward(dy, input: columns.pointer, rows: rows, depth: patch, width: filters, inputGradient: dcols)
        }
        guard let dcols else { return nil }
        let imageSize = g.height * g.width * g.channels
        let dx = inputGradient.reserveDiscarding(batch * imageSize)
        dx.update(repeating: 0, count: batch * imageSize)
        // col2im: every run of a window adds its cells' gradients back to the image.
        g.forEachWindowRun(batch: batch) { input, cell, count in
            for k in 0..<count { dx[input + k] += dcols[cell + k] }
        }
        return dx
    }

    /// A copy with the same configuration, geometry and binding, and its own workspaces.
    public func makeReplica() -> any Layer {
        let copy = Conv2D(
            filters, kernelSize: kernelSize, strides: strides, padding: padding, activation: activation,
            useBias: useBias, kernelInitializer: kernelInitializer, biasInitializer: biasInitializer, name: name)
        copy.geometry = geometry
        copy.parameters = parameters
        return copy
    }
}
