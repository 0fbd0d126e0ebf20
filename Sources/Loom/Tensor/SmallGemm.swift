/// `C (m, n) += A (m, k) · B (k, n)`, row-major, for the per-step products of a recurrent
/// layer: a few rows times a small weight matrix (the vanilla model's shard: 16×10 · 10×40);
/// and, in builds with `WideGemm` on, for narrow products of any height (`suitsNarrow`:
/// B6's convolution, 12544×9 · 9×8 a batch: B6 trained at 34.0k samples/s on two workers
/// this way, 32.9k with OpenBLAS).
///
/// Why not OpenBLAS: its `cblas_sgemm` takes a process-wide mutex to get a work buffer on
/// every call (`blas_memory_alloc`, OpenBLAS 0.3.21), and two data-parallel workers issuing
/// these tiny products in step collide on it (measured with perf: all futex waits of a
/// 2-worker vanilla run came from there, and the run fell to 1.05x). Data-parallel replicas
/// use it (`RecurrentWeights.avoidsBLASLock`). Each row of C is updated 8 columns at a time,
/// `C[i, j..<j+8] += A[i, p] · B[p, j..<j+8]`, the remaining columns one by one.
@usableFromInline
enum SmallGemm {
    /// Products of at most this many multiply-adds go through `accumulate`.
    static let maximumWork = 32_768

    /// Whether a product is narrow enough for `accumulate` whatever its size: a few whole
    /// 8-column vectors over many rows (a convolution's `(positions, 9) · (9, 8)`), which
    /// OpenBLAS first packs into panels of 16 or more columns.
    @usableFromInline
    static func suitsNarrow(m: Int, n: Int) -> Bool { m >= 64 && n < 32 && n % 8 == 0 }

    @usableFromInline
    static func accumulate(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let vectorEnd = n - n % VectorMath.width
        for i in 0..<m {
            let row = c + i * ldc, aRow = a + i * lda
            var j = 0
            while j < vectorEnd {
                var sum = UnsafeRawPointer(row + j).loadUnaligned(as: VectorMath.Vector.self)
                for p in 0..<k { sum += aRow[p] * UnsafeRawPointer(b + p * ldb + j).loadUnaligned(as: VectorMath.Vector.self) }
                UnsafeMutableRawPointer(row + j).storeBytes(of: sum, as: VectorMath.Vector.self)
                j += VectorMath.width
            }
            // The last n mod 8 columns: plain sums (a partial vector would be gathered at every p).
            for column in vectorEnd..<n {
                var sum = row[column]
                for p in 0..<k { sum += aRow[p] * b[p * ldb + column] }
                row[column] = sum
            }
        }
    }
}
