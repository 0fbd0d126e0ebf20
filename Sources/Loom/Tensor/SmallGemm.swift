/// `C (m, n) += op(A) · B (k, n)`, row-major, op(A) = A `(m, k)` or Aᵀ for A stored `(k, m)`, for the per-step products of a recurrent
/// layer: a few rows times a small weight matrix (the vanilla model's shard: 16×10 · 10×40);
/// and, where `WideGemm` is on (AVX-512), for narrow products of any height (`suitsNarrow`:
/// a convolution's `(positions, 9) · (9, 8)`, which OpenBLAS first packs into wide panels),
/// and with A transposed for a few rows of C over many rows of A and B
/// (`suitsNarrowTransposedA`: the convolution's kernel gradient).
///
/// Why not OpenBLAS: its `cblas_sgemm` takes a process-wide mutex to get a work buffer on
/// every call (`blas_memory_alloc`, OpenBLAS 0.3.21), and two data-parallel workers issuing
/// these tiny products in step collide on it (perf: all the futex waits of a 2-worker run of
/// a small LSTM came from there). Data-parallel replicas use it
/// (`RecurrentWeights.stepProductsInSmallGemm`). Each sum adds its products in order of p.
@usableFromInline
enum SmallGemm {
    /// Products of at most this many multiply-adds go through `accumulate`.
    static let maximumWork = 32_768

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

    /// `C += op(A) · B`, A `(m, k)` with `lda >= k`, or `(k, m)` with `lda >= m` when
    /// `transposeA`, in the kernels' `smallGemm`: the k rows in chunks of 512 (a convolution's
    /// kernel gradient chunk, A 512×9 and B 512×8, stays in L1), four rows of C at a time
    /// (four independent sums share each B vector; one row at a time, each sum would wait on
    /// its previous add), 8 columns at a time, then the last columns four rows side by side,
    /// then the remaining rows one by one.
    @usableFromInline
    static func accumulate(
        transposeA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        Kernels.table.smallGemm(transposeA, m, n, k, a, lda, b, ldb, c, ldc)
    }
}
