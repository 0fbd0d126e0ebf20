/// `C (m, n) += op(A) · B (k, n)`, row-major, op(A) = A `(m, k)` or Aᵀ for A stored `(k, m)`, for the per-step products of a recurrent
/// layer: a few rows times a small weight matrix (the vanilla model's shard: 16×10 · 10×40);
/// and, in builds with `WideGemm` on, for narrow products of any height (`suitsNarrow`:
/// B6's convolution, 12544×9 · 9×8 a batch: B6 trained at 34.0k samples/s on two workers
/// this way, 32.9k with OpenBLAS), and with A transposed for a few rows of C over many rows
/// of A and B (`suitsNarrowTransposedA`: the convolution's kernel gradient).
///
/// Why not OpenBLAS: its `cblas_sgemm` takes a process-wide mutex to get a work buffer on
/// every call (`blas_memory_alloc`, OpenBLAS 0.3.21), and two data-parallel workers issuing
/// these tiny products in step collide on it (measured with perf: all futex waits of a
/// 2-worker vanilla run came from there, and the run fell to 1.05x). Data-parallel replicas
/// use it (`RecurrentWeights.avoidsBLASLock`). Rows of C are updated four at a time, 8 columns
/// at a time, `C[i, j..<j+8] += op(A)[i, p] · B[p, j..<j+8]` for p in order, the remaining
/// columns one by one.
@usableFromInline
enum SmallGemm {
    /// Products of at most this many multiply-adds go through `accumulate`.
    static let maximumWork = 32_768
    /// The rows of A and B summed before C is written back: 512 keep B6's kernel gradient
    /// (A 512×9, B 512×8: 34 KB) in L1; the largest transposed product accepted (32 × 24) in L2.
    static let depthChunk = 512

    /// Whether a product is narrow enough for `accumulate` whatever its size: a few whole
    /// 8-column vectors over many rows (a convolution's `(positions, 9) · (9, 8)`), which
    /// OpenBLAS first packs into panels of 16 or more columns.
    @usableFromInline
    static func suitsNarrow(m: Int, n: Int) -> Bool { m >= 64 && n < 32 && n % 8 == 0 }

    /// Whether `Aᵀ · B` suits `accumulate`: a few rows and whole 8-column vectors of C, summed
    /// over many rows of A and B (a convolution's kernel gradient `columnsᵀ · dz`,
    /// `(9, B·positions) · (B·positions, 8)`, which OpenBLAS packs first).
    @usableFromInline
    static func suitsNarrowTransposedA(m: Int, n: Int, k: Int) -> Bool { m <= 32 && n < 32 && n % 8 == 0 && k >= 64 }

    /// `C += op(A) · B`, with op(A)[i, p] at `a + i·rowStride + p·depthStride` (A `(m, k)` with
    /// `lda >= k`, or `(k, m)` with `lda >= m` when `transposeA`). The k rows go in chunks of
    /// `depthChunk`; within a chunk, four rows of C go together (four independent sums, one
    /// load of each B vector), in whole vectors and in the last columns, then the rows left one
    /// by one. One row at a time, each sum waited on its previous add: B6's convolution, 9
    /// products a row, ran at a third of the speed; the vanilla model's recurrent gradient,
    /// 16×40 · 40×10 a shard, has two last columns of 40 products each (2-worker B1 trained at
    /// 970k samples/s this way, 900k before).
    @usableFromInline
    static func accumulate(
        transposeA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        typealias V = VectorMath
        let (rowStride, depthStride) = transposeA ? (1, lda) : (lda, 1)
        let vectorEnd = n - n % V.width
        var p0 = 0
        while p0 < k {
            let depth = min(depthChunk, k - p0)
            let aChunk = a + p0 * depthStride, bChunk = b + p0 * ldb
            var i = 0
            while i + 4 <= m {
                let a0 = aChunk + i * rowStride, a1 = a0 + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride
                let c0 = c + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
                var j = 0
                while j < vectorEnd {
                    var s0 = V.load(c0 + j, count: V.width), s1 = V.load(c1 + j, count: V.width)
                    var s2 = V.load(c2 + j, count: V.width), s3 = V.load(c3 + j, count: V.width)
                    var p = 0, bRow = bChunk + j
                    for _ in 0..<depth {
                        let bp = V.load(bRow, count: V.width)
                        s0 += a0[p] * bp
                        s1 += a1[p] * bp
                        s2 += a2[p] * bp
                        s3 += a3[p] * bp
                        p += depthStride
                        bRow += ldb
                    }
                    V.store(s0, to: c0 + j, count: V.width)
                    V.store(s1, to: c1 + j, count: V.width)
                    V.store(s2, to: c2 + j, count: V.width)
                    V.store(s3, to: c3 + j, count: V.width)
                    j += V.width
                }
                // The last n mod 8 columns: plain sums, the four rows' side by side.
                for column in vectorEnd..<n {
                    var s0 = c0[column], s1 = c1[column], s2 = c2[column], s3 = c3[column]
                    var p = 0, bRow = bChunk + column
                    for _ in 0..<depth {
                        let bp = bRow.pointee
                        s0 += a0[p] * bp
                        s1 += a1[p] * bp
                        s2 += a2[p] * bp
                        s3 += a3[p] * bp
                        p += depthStride
                        bRow += ldb
                    }
                    (c0[column], c1[column], c2[column], c3[column]) = (s0, s1, s2, s3)
                }
                i += 4
            }
            while i < m {
                let aRow = aChunk + i * rowStride, cRow = c + i * ldc
                var j = 0
                while j < vectorEnd {
                    var sum = V.load(cRow + j, count: V.width)
                    var ap = aRow, bRow = bChunk + j
                    for _ in 0..<depth {
                        sum += ap.pointee * V.load(bRow, count: V.width)
                        ap += depthStride
                        bRow += ldb
                    }
                    V.store(sum, to: cRow + j, count: V.width)
                    j += V.width
                }
                for column in vectorEnd..<n {
                    var sum = cRow[column]
                    var ap = aRow, bRow = bChunk + column
                    for _ in 0..<depth {
                        sum += ap.pointee * bRow.pointee
                        ap += depthStride
                        bRow += ldb
                    }
                    cRow[column] = sum
                }
                i += 1
            }
            p0 += depth
        }
    }
}
