/// Keras's `MaxPooling2D` in channels-last layout: per-sample `(height, width, channels)` →
/// `(outHeight, outWidth, channels)`, each output the maximum of its window (strides default
/// to the pool size). Backward sends each output's gradient to the input that was the maximum
/// (the first one, on ties), whose index a training forward pass keeps.
public final class MaxPooling2D: Layer {
    /// Empty until the model names it ("max_pooling2d", "max_pooling2d_1", ...), unless given to `init`.
    public var name: String
    /// "MaxPooling2D", Keras's class name.
    public var typeName: String { "MaxPooling2D" }
    /// The window's (height, width); default (2, 2).
    public let poolSize: (Int, Int)
    /// The window's step (down, across); defaults to `poolSize`, as in Keras.
    public let strides: (Int, Int)
    /// `.valid` (default) or `.same`, Keras's `padding`.
    public let padding: Padding
    private var geometry = WindowGeometry()
    private let output = FloatBuffer()
    private var winners: [Int] = []
    private let inputGradient = FloatBuffer()
    /// The offsets of one window's cells, reused for every output pixel.
    private var cellOffsets: [Int] = []

    /// A pooling layer; `strides` nil takes `poolSize`, and `name` defaults to "max_pooling2d", ... in model order.
    public init(poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid, name: String = "") {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.name = name
    }

    /// Takes `(height, width, channels)` and returns `(outHeight, outWidth, channels)`; throws for a pool size or
    /// stride that is not positive, or an image smaller than the pool.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard poolSize.0 > 0, poolSize.1 > 0, strides.0 > 0, strides.1 > 0 else {
            throw LoomError.invalidArgument("MaxPooling2D '\(name)': pool size and strides must be positive")
        }
        guard inputShape.count == 3 else {
            throw LoomError.shapeMismatch(
                context: "MaxPooling2D '\(name)'", expected: "(batch, height, width, channels)",
                found: [-1] + inputShape)
        }
        geometry = WindowGeometry(input: inputShape, window: poolSize, strides: strides, padding: padding)
        guard geometry.outputHeight > 0, geometry.outputWidth > 0 else {
            throw LoomError.shapeMismatch(
                context: "MaxPooling2D '\(name)' with a \(poolSize.0)x\(poolSize.1) pool",
                expected: "images at least as large as the pool", found: [-1] + inputShape)
        }
        return [geometry.outputHeight, geometry.outputWidth, geometry.channels]
    }

    // forward: y[b, oh, ow, c] = max over the window of x; winners[·] = that input's index
    // backward: dx[winner] += dy

    /// Each output the maximum of its window, per channel; a training pass keeps each maximum's input index.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let g = geometry, C = g.channels
        let pixelsPerImage = g.outputHeight * g.outputWidth, count = batch * pixelsPerImage * C
        let windowCells = g.windowHeight * g.windowWidth
        let y = output.reserveDiscarding(count)
        if winners.count < count { winners = Array(repeating: 0, count: count) }
        if cellOffsets.count < windowCells { cellOffsets = Array(repeating: 0, count: windowCells) }
        let kernels = Kernels.table
        // Each output pixel in the kernels' `maxPoolPixel`, from the offsets of its window's
        // cells inside the image (row by row, as ties go to the first), pixels in output order.
        winners.withUnsafeMutableBufferPointer { winners in
            cellOffsets.withUnsafeMutableBufferPointer { offsets in
                var pixel = 0
                for b in 0..<batch {
                    let image = b * g.height * g.width * C
                    for oh in 0..<g.outputHeight {
                        for ow in 0..<g.outputWidth {
                            let cells = g.cellOffsets(image: image, oh, ow, into: offsets.baseAddress!)
                            let winner = training ? winners.baseAddress! + pixel * C : nil
                            kernels.maxPoolPixel(x, offsets.baseAddress, cells, C, y + pixel * C, winner)
                            pixel += 1
                        }
                    }
                }
            }
        }
        return UnsafePointer(y)
    }

    /// Adds each output's gradient to the input that was its window's maximum (zero elsewhere); nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        guard needsInputGradient else { return nil }
        let g = geometry
        let inputCount = batch * g.height * g.width * g.channels
        let dx = inputGradient.reserveDiscarding(inputCount)
        dx.update(repeating: 0, count: inputCount)
        let count = batch * g.outputHeight * g.outputWidth * g.channels
        winners.withUnsafeBufferPointer { winners in
            for k in 0..<count { dx[winners[k]] += dy[k] }
        }
        return dx
    }

    /// A copy with the same configuration and geometry, and its own buffers.
    public func makeReplica() -> any Layer {
        let copy = MaxPooling2D(poolSize: poolSize, strides: strides, padding: padding, name: name)
        copy.geometry = geometry
        return copy
    }
}
