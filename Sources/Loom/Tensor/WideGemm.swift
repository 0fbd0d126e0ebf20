/// `C (m, n) = op(A) · op(B) (+ C)`, row-major, in 16-lane vectors, with `op(A)` = A `(m, k)`
/// or Aᵀ for A stored `(k, m)`, likewise B: Loom's own kernel for the layers' products (input
/// projections, recurrent steps, Dense and convolution forward passes, the recurrent backward
/// through a transposed copy, the weight gradients `xᵀ · dz` and the input gradients
/// `dz · kernelᵀ`).
///
/// Why: on an AVX-512 CPU whose OpenBLAS runs its AVX2 kernels (this project's machines set
/// `OPENBLAS_CORETYPE=Haswell`), these tiles are faster. Measured on one core of the 2-vCPU
/// AMD EPYC, GFLOP/s against OpenBLAS 0.3.21 Haswell: 512×512×128 228 / 126, 16384×512×64
/// 202 / 92, 128×256×64 223 / 124; transposed, 64×512×16384 154 / 104 and 64×256×3840
/// 180 / 121. `BLAS.gemm` sends products here when `isEnabled` (release builds for AVX-512,
/// `-D LOOM_WIDE_GEMM`, set by the Makefile) and `suits` their shape; a baseline build would
/// run these vectors at a quarter of the width, so it keeps OpenBLAS.
///
/// Blocking: the depth in slices of `depthBlock`, the rows in blocks of `rowBlock` (so their
/// A slice stays in L2 across all column tiles). Products of at least `packingRows` rows
/// first copy each 32-column B panel of a depth slice into a contiguous buffer (the thread's
/// `GemmScratch`), reused by every row tile of the block: B's own rows lie a power of two
/// apart in the layers (256 or 512 gate columns), so its panel would fall into a few L1 sets
/// and be fetched again for every tile (packing took 512×512×128 from 147 to 228 GFLOP/s).
/// A tile is 4 rows × 32 columns: 8 accumulators, two B vectors and four broadcasts of A per
/// step. Edges (rows beyond a multiple of 4, columns beyond a multiple of 32) run one row at
/// a time, 16, then 8, then 1 column at a time. The sums of a product come out in the same
/// order on every call, packed or not, so results are reproducible run after run.
public enum WideGemm {
    public typealias Vector = SIMD16<Float>
    static let depthBlock = 256
    static let rowBlock = 256
    /// Products with fewer rows read B in place: a panel's copy costs about what so few
    /// tiles save (32×128×32: 214 GFLOP/s in place, 200 packed); half as many rows suffice
    /// when the depth fills a whole slice, whose panel would not stay in L1 (transposed
    /// 32×128×1280: 153 in place, 166 packed).
    static let packingRows = 64
    /// Products with B stored transposed need at least this many rows: B is first copied
    /// untransposed, which costs about 1/m of the product (the recurrent layers' input
    /// gradients `dz · kernelᵀ` have thousands; a Dense layer's, one batch).
    public static let transposedBRows = 64

    /// Whether `BLAS.gemm` uses this kernel (a compile-time choice; see the type's comment).
    public static var isEnabled: Bool {
        #if LOOM_WIDE_GEMM
        return true
        #else
        return false
        #endif
    }

    /// Whether a product of this shape is worth a call: at least one tile, and whole 16-column
    /// vectors. Others (the vanilla model's 40 gate columns) stay in OpenBLAS: with two workers
    /// the vanilla model trained at 1.35x one worker that way, 1.29x through here; requiring
    /// 64 columns instead cost the stateful B7 model 7% (its recurrent backward has 32).
    /// A transposed B needs `transposedBRows`, and takes 8-column multiples too (B6's LSTM
    /// input gradient has 392 columns: B6 trained at 34.9k samples/s on two workers this way,
    /// 34.0k in OpenBLAS).
    @inlinable
    public static func suits(m: Int, n: Int, k: Int, transposeB: Bool = false) -> Bool {
        m >= (transposeB ? transposedBRows : 4) && n >= 32 && n % (transposeB ? 8 : 16) == 0 && k >= 1
    }

    /// `C = op(A) · op(B)`, or `C += op(A) · op(B)` when `accumulate`. A is `(m, k)` with
    /// `lda >= k`, or `(k, m)` with `lda >= m` when `transposeA`; B is `(k, n)` with `ldb >= n`,
    /// or `(n, k)` with `ldb >= k` when `transposeB`; `ldc >= n`.
    public static func multiply(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        guard !transposeB else {
            let copy = GemmScratch.current.untransposed.reserve(k * n)
            BLAS.transpose(b, rows: n, columns: k, lda: ldb, into: copy)
            multiplyUntransposedB(transposeA: transposeA, m: m, n: n, k: k, a: a, lda: lda, b: copy, ldb: n,
                                  c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        multiplyUntransposedB(transposeA: transposeA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                              accumulate: accumulate)
    }

    /// `multiply` once B is untransposed. (A function of its own: with the transposed copy in
    /// the same body, the optimiser compiled the tiles worse, and B3 predicted at 13.5k
    /// samples/s instead of 17.5k.)
    private static func multiplyUntransposedB(
        transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        // op(A)[i, p] lies at a + i·rowStride + p·depthStride.
        let (rowStride, depthStride) = transposeA ? (1, lda) : (lda, 1)
        let tileRows = m - m % 4, tileColumns = n - n % 32
        let packs = tileColumns > 0 && (tileRows >= packingRows || tileRows >= packingRows / 2 && k >= depthBlock)
        let panel = packs ? GemmScratch.current.panel.pointer : nil
        var p0 = 0
        repeat {
            let depth = min(depthBlock, k - p0)
            // The first slice writes C (or adds to it); later ones always add.
            let fresh = p0 == 0 && !accumulate
            let aSlice = a + p0 * depthStride, bSlice = b + p0 * ldb
            var i0 = 0
            while i0 < m {
                let rowEnd = min(i0 + rowBlock, m), tileEnd = min(rowEnd, tileRows)
                var j = 0
                while j < tileColumns {
                    var source = bSlice + j, sourceStride = ldb
                    if let panel {
                        pack(depth: depth, from: source, ldb: ldb, into: panel)
                        (source, sourceStride) = (UnsafePointer(panel), 32)
                    }
                    var i = i0
                    while i < tileEnd {
                        tile(depth: depth, a: aSlice + i * rowStride, rowStride: rowStride, depthStride: depthStride,
                             b: source, ldb: sourceStride, c: c + i * ldc + j, ldc: ldc, fresh: fresh)
                        i += 4
                    }
                    j += 32
                }
                // Rows past the last whole tile, all columns; then the last columns of tiled rows.
                for i in max(i0, tileEnd)..<rowEnd {
                    row(depth: depth, a: aSlice + i * rowStride, depthStride: depthStride, b: bSlice, ldb: ldb,
                        c: c + i * ldc, columns: 0..<n, fresh: fresh)
                }
                if tileColumns < n {
                    for i in i0..<tileEnd {
                        row(depth: depth, a: aSlice + i * rowStride, depthStride: depthStride, b: bSlice, ldb: ldb,
                            c: c + i * ldc, columns: tileColumns..<n, fresh: fresh)
                    }
                }
                i0 = rowEnd
            }
            p0 += depth
        } while p0 < k
    }

    /// Copies B[0..<depth, 0..<32] (rows `ldb` apart) into `panel`, 32 floats a row.
    @inline(__always)
    private static func pack(depth: Int, from b: UnsafePointer<Float>, ldb: Int, into panel: UnsafeMutablePointer<Float>) {
        for p in 0..<depth {
            store(load(b + p * ldb), panel + p * 32)
            store(load(b + p * ldb + 16), panel + p * 32 + 16)
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> Vector { UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }

    @inline(__always)
    private static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// C[0..<4, 0..<32] (+)= op(A)[0..<4, 0..<depth] · B[0..<depth, 0..<32], with op(A)[i, p]
    /// at a + i·rowStride + p·depthStride.
    @inline(__always)
    private static func tile(
        depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, fresh: Bool
    ) {
        let zero = Vector(repeating: 0)
        let (r1, r2, r3) = (c + ldc, c + 2 * ldc, c + 3 * ldc)
        var c00 = fresh ? zero : load(c), c01 = fresh ? zero : load(c + 16)
        var c10 = fresh ? zero : load(r1), c11 = fresh ? zero : load(r1 + 16)
        var c20 = fresh ? zero : load(r2), c21 = fresh ? zero : load(r2 + 16)
        var c30 = fresh ? zero : load(r3), c31 = fresh ? zero : load(r3 + 16)
        var bp = b, ap = a
        for _ in 0..<depth {
            let b0 = load(bp), b1 = load(bp + 16)
            var s = Vector(repeating: ap[0])
            c00 += s * b0; c01 += s * b1
            s = Vector(repeating: ap[rowStride])
            c10 += s * b0; c11 += s * b1
            s = Vector(repeating: ap[2 * rowStride])
            c20 += s * b0; c21 += s * b1
            s = Vector(repeating: ap[3 * rowStride])
            c30 += s * b0; c31 += s * b1
            bp += ldb
            ap += depthStride
        }
        store(c00, c); store(c01, c + 16)
        store(c10, r1); store(c11, r1 + 16)
        store(c20, r2); store(c21, r2 + 16)
        store(c30, r3); store(c31, r3 + 16)
    }

    /// One row of C over `columns`: 16, then 8, then 1 column at a time; op(A)[i, p] at
    /// a + p·depthStride.
    private static func row(
        depth: Int, a: UnsafePointer<Float>, depthStride: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, columns: Range<Int>, fresh: Bool
    ) {
        var j = columns.lowerBound
        while j + 16 <= columns.upperBound {
            var sum = fresh ? Vector(repeating: 0) : load(c + j)
            for p in 0..<depth { sum += Vector(repeating: a[p * depthStride]) * load(b + p * ldb + j) }
            store(sum, c + j)
            j += 16
        }
        while j + 8 <= columns.upperBound {
            var sum = fresh ? SIMD8<Float>(repeating: 0) : UnsafeRawPointer(c + j).loadUnaligned(as: SIMD8<Float>.self)
            for p in 0..<depth {
                sum += SIMD8<Float>(repeating: a[p * depthStride]) * UnsafeRawPointer(b + p * ldb + j).loadUnaligned(as: SIMD8<Float>.self)
            }
            UnsafeMutableRawPointer(c + j).storeBytes(of: sum, as: SIMD8<Float>.self)
            j += 8
        }
        while j < columns.upperBound {
            var sum: Float = fresh ? 0 : c[j]
            for p in 0..<depth { sum += a[p * depthStride] * b[p * ldb + j] }
            c[j] = sum
            j += 1
        }
    }
}
