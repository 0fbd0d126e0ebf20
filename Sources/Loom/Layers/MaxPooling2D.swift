/// Keras's `MaxPooling2D` in channels-last layout: per-sample `(height, width, channels)` →
/// `(outHeight, outWidth, channels)`, each output the maximum of its window (strides default
/// to the pool size). Backward sends each output's gradient to the input that was the maximum
/// (the first one, on ties), whose index a training forward pass keeps.
public final class MaxPooling2D: Layer {
    public var name: String
    public var typeName: String { "MaxPooling2D" }
    public let poolSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    private var geometry = WindowGeometry()
    private let output = FloatBuffer()
    private var winners: [Int] = []
    private let inputGradient = FloatBuffer()

    public init(poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid, name: String = "") {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.name = name
    }

    public func build(inputShape: [Int]) throws -> [Int] {
        guard poolSize.0 > 0, poolSize.1 > 0, strides.0 > 0, strides.1 > 0 else {
            throw LoomError.invalidArgument("MaxPooling2D '\(name)': pool size and strides must be positive")
        }
        guard inputShape.count == 3 else {
            throw LoomError.shapeMismatch(context: "MaxPooling2D '\(name)'", expected: "(batch, height, width, channels)",
                                          found: [-1] + inputShape)
        }
        geometry = WindowGeometry(input: inputShape, window: poolSize, strides: strides, padding: padding)
        guard geometry.outputHeight > 0, geometry.outputWidth > 0 else {
            throw LoomError.shapeMismatch(context: "MaxPooling2D '\(name)' with a \(poolSize.0)x\(poolSize.1) pool",
                                          expected: "images at least as large as the pool", found: [-1] + inputShape)
        }
        return [geometry.outputHeight, geometry.outputWidth, geometry.channels]
    }

    // forward: y[b, oh, ow, c] = max over the window of x; winners[·] = that input's index
    // backward: dx[winner] += dy

    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let g = geometry, C = g.channels
        let count = batch * g.outputHeight * g.outputWidth * C
        let y = output.reserve(count)
        if winners.count < count { winners = Array(repeating: 0, count: count) }
        // The vector path keeps indices in 32 bits: batches of fewer than 2³¹ input values.
        let vectorChannels = batch * g.height * g.width * C < Int(Int32.max) ? C - C % VectorMath.width : 0
        let lanes = Self.lanes  // read once: in the loop, every read went through the global's lazy initialiser
        winners.withUnsafeMutableBufferPointer { winners in
            let winner = winners.baseAddress!
            for b in 0..<batch {
                let image = b * g.height * g.width * C
                for oh in 0..<g.outputHeight {
                    for ow in 0..<g.outputWidth {
                        let k = ((b * g.outputHeight + oh) * g.outputWidth + ow) * C
                        let (rows, columns) = g.inside(oh, ow)
                        let (top, left) = g.source(oh, ow, 0, 0)
                        let first = image + ((top + rows.lowerBound) * g.width + left + columns.lowerBound) * C
                        // 8 channels at a time, kept in registers over the window; the first
                        // cell starts the maximum, a later one replaces it only when greater.
                        var c0 = 0
                        while c0 < vectorChannels {
                            var best = VectorMath.load(x + first + c0, count: VectorMath.width)
                            var index = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: first + c0)) &+ lanes
                            for i in rows {
                                for j in columns {
                                    let p = image + ((top + i) * g.width + left + j) * C + c0
                                    let value = VectorMath.load(x + p, count: VectorMath.width)
                                    let better = value .> best
                                    best.replace(with: value, where: better)
                                    index.replace(with: SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: p)) &+ lanes, where: better)
                                }
                            }
                            VectorMath.store(best, to: y + k + c0, count: VectorMath.width)
                            if training { for lane in 0..<VectorMath.width { winner[k + c0 + lane] = Int(index[lane]) } }
                            c0 += VectorMath.width
                        }
                        for c in vectorChannels..<C {
                            var best = x[first + c], index = first + c
                            for i in rows {
                                for j in columns {
                                    let p = image + ((top + i) * g.width + left + j) * C + c
                                    if x[p] > best { (best, index) = (x[p], p) }
                                }
                            }
                            y[k + c] = best
                            if training { winner[k + c] = index }
                        }
                    }
                }
            }
        }
        return UnsafePointer(y)
    }

    private static let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)

    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        guard needsInputGradient else { return nil }
        let g = geometry
        let inputCount = batch * g.height * g.width * g.channels
        let dx = inputGradient.reserve(inputCount)
        dx.update(repeating: 0, count: inputCount)
        let count = batch * g.outputHeight * g.outputWidth * g.channels
        for k in 0..<count { dx[winners[k]] += dy[k] }
        return dx
    }

    public func makeReplica() -> any Layer {
        let copy = MaxPooling2D(poolSize: poolSize, strides: strides, padding: padding, name: name)
        copy.geometry = geometry
        return copy
    }
}
