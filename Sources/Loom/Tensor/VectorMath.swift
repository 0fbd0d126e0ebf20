/// Vectorised elementary functions on 16 floats at a time, for the activation kernels, and the
/// 8-float loads and stores of the layers' per-unit loops.
///
/// The standard library's `exp` and `tanh` are scalar libm calls (about 5–10 ns each); an LSTM
/// step with 128 units and a batch of 512 needs 330k of them, which would cost more than its
/// GEMM. These polynomial versions (Cephes `expf`/`tanhf` coefficients) use only adds,
/// multiplies, fused multiply-adds and integer bit tricks, so they vectorise on any x86-64,
/// and stay within 2 ulp of libm over the range a network uses.
public enum VectorMath {
    /// The width of the layers' per-unit loops (`load`, `store`, the LSTM cell).
    public typealias Vector = SIMD8<Float>
    public static let width = Vector.scalarCount
    /// The width of the elementary functions (16 lanes: B5 trained 7% faster than with 8).
    public typealias Wide = SIMD16<Float>

    /// e^x, with x clamped to [-87, 88] (the result stays a normal float).
    @inlinable @inline(__always)
    public static func exp(_ x: Wide) -> Wide {
        let x = clamp(x, -87, 88)
        // n = round(x / ln 2) by the 1.5·2^23 trick: adding it leaves n in the low mantissa bits.
        let magic = Wide(repeating: 12_582_912)
        let shifted = fused(x, 1.442_695_04, magic)
        let n = shifted - magic
        // r = x - n·ln 2, with ln 2 split in two so the product is exact.
        var r = fused(n, -0.693_359_375, x)
        r = fused(n, 2.121_944_4e-4, r)
        let r2 = r * r
        var p = Wide(repeating: 1.987_569_15e-4)
        p = fused(p, r, 1.398_199_95e-3)
        p = fused(p, r, 8.333_451_9e-3)
        p = fused(p, r, 4.166_579_59e-2)
        p = fused(p, r, 1.666_666_55e-1)
        p = fused(p, r, 5.000_000_12e-1)
        let poly = fused(p, r2, r + 1)
        // 2^n built in the exponent field: (n + 127) << 23.
        let nBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: Wide.self)
        return poly * scale
    }

    /// a·b + c in one rounding (a fused multiply-add where the target has one; a build for
    /// baseline x86-64 computes the same value in software).
    @inlinable @inline(__always)
    public static func fused(_ a: Wide, _ b: Wide, _ c: Wide) -> Wide { c.addingProduct(a, b) }

    @inlinable @inline(__always)
    public static func fused(_ a: Wide, _ b: Wide, _ c: Float) -> Wide { Wide(repeating: c).addingProduct(a, b) }

    @inlinable @inline(__always)
    public static func fused(_ a: Wide, _ b: Float, _ c: Wide) -> Wide { c.addingProduct(a, b) }

    /// `x` limited to [lower, upper]. (`SIMD.clamped` goes through generic `pointwiseMin/Max`
    /// calls that the optimiser does not specialise: 7% of an LSTM(128) step before this.)
    @inlinable @inline(__always)
    public static func clamp(_ x: Wide, _ lower: Float, _ upper: Float) -> Wide {
        x.replacing(with: lower, where: x .< lower).replacing(with: upper, where: x .> upper)
    }

    /// 1 / (1 + e^-x).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Wide) -> Wide {
        1 / (1 + exp(-x))
    }

    /// tanh x: an odd polynomial for |x| < 0.625 (where 1 - 2/(e^2x + 1) would cancel),
    /// else 1 - 2/(e^2|x| + 1) with the sign put back.
    @inlinable @inline(__always)
    public static func tanh(_ x: Wide) -> Wide {
        let magnitude = x.replacing(with: -x, where: x .< 0)
        let z = x * x
        var p = Wide(repeating: -5.704_988_727_45e-3)
        p = fused(p, z, 2.063_908_879_54e-2)
        p = fused(p, z, -5.373_971_555_31e-2)
        p = fused(p, z, 1.333_144_220_36e-1)
        p = fused(p, z, -3.333_328_194_22e-1)
        let small = fused(p * z, x, x)
        var large = 1 - 2 / (exp(2 * magnitude) + 1)
        large = large.replacing(with: -large, where: x .< 0)
        return small.replacing(with: large, where: magnitude .>= 0.625)
    }

    /// max(x, 0).
    @inlinable @inline(__always)
    public static func relu(_ x: Wide) -> Wide { x.replacing(with: 0, where: x .< 0) }

    /// Keras 3's hard_sigmoid, `relu6(x + 3) / 6`.
    @inlinable @inline(__always)
    public static func hardSigmoid(_ x: Wide) -> Wide { clamp((x + 3) * (1 as Float / 6), 0, 1) }

    /// Keras 2's hard_sigmoid, `clip(0.2·x + 0.5, 0, 1)`.
    @inlinable @inline(__always)
    public static func hardSigmoidKeras2(_ x: Wide) -> Wide { clamp(x * 0.2 + 0.5, 0, 1) }

    /// Loads 16 floats from `source` (any alignment).
    @inlinable @inline(__always)
    public static func load(_ source: UnsafePointer<Float>) -> Wide {
        UnsafeRawPointer(source).loadUnaligned(as: Wide.self)
    }

    /// Stores 16 floats at `target` (any alignment).
    @inlinable @inline(__always)
    public static func store(_ vector: Wide, to target: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(target).storeBytes(of: vector, as: Wide.self)
    }

    /// Loads `count` (1...8) floats from `source`, zero-padded to a full vector.
    @inlinable @inline(__always)
    public static func load(_ source: UnsafePointer<Float>, count: Int) -> Vector {
        if count == 8 { return UnsafeRawPointer(source).loadUnaligned(as: Vector.self) }
        var vector = Vector()
        for j in 0..<count { vector[j] = source[j] }
        return vector
    }

    /// Stores the first `count` (1...8) lanes of `vector` at `target`.
    @inlinable @inline(__always)
    public static func store(_ vector: Vector, to target: UnsafeMutablePointer<Float>, count: Int) {
        if count == 8 {
            UnsafeMutableRawPointer(target).storeBytes(of: vector, as: Vector.self)
            return
        }
        for j in 0..<count { target[j] = vector[j] }
    }

    /// sums[j] += Σ_r matrix[r, j] for a `(rows, columns)` row-major matrix (a bias gradient):
    /// 8 columns at a time, the rows added in order, so each sum comes out as a plain loop's.
    /// The matrix is read in blocks of 8 whole rows (going down one column at a time would
    /// fetch every cache line of a large matrix several times).
    @inlinable
    public static func addColumnSums(
        of matrix: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>
    ) {
        var r0 = 0
        while r0 < rows {
            let rowEnd = min(r0 + 8, rows)
            var j = 0
            while j < columns {
                let count = min(width, columns - j)
                var sum = load(sums + j, count: count)
                for r in r0..<rowEnd { sum += load(matrix + r * columns + j, count: count) }
                store(sum, to: sums + j, count: count)
                j += count
            }
            r0 = rowEnd
        }
    }

    /// Applies `body` to `count` floats in place, 16 at a time; the tail goes through a
    /// zero-padded vector so every element sees the same arithmetic.
    @inlinable @inline(__always)
    public static func map(_ values: UnsafeMutablePointer<Float>, count: Int, _ body: (Wide) -> Wide) {
        var i = 0
        while i + 16 <= count {
            store(body(load(values + i)), to: values + i)
            i += 16
        }
        if i < count {
            var tail = Wide()
            for j in 0..<(count - i) { tail[j] = values[i + j] }
            tail = body(tail)
            for j in 0..<(count - i) { values[i + j] = tail[j] }
        }
    }
}
