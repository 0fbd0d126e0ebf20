import CBLAS

/// Row-major matrix products (OpenBLAS, or `WideGemm` and `SmallGemm` where they are enabled) and OpenBLAS's
/// settings. Every matrix is described by a pointer, its shape and
/// its leading dimension (the distance between two rows, in elements), so a strided view of
/// a larger buffer (one timestep of a `(batch, time, 4·units)` block) needs no copy.
@_spi(Kernels) public enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major. Where `WideGemm` is enabled,
    /// products that `WideGemm.suits` go to it, narrow ones to `SmallGemm` (`suitsNarrow`,
    /// `suitsNarrowTransposedA`), the rest to OpenBLAS.
    ///
    /// `op(A)` is `(m, k)`: A is stored `(m, k)` with `lda >= k`, or `(k, m)` with `lda >= m`
    /// when `transposeA`. Likewise `op(B)` is `(k, n)` and C is `(m, n)` with `ldc >= n`.
    /// Cost: `2·m·n·k` flops.
    @inlinable
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // Empty inner dimension: C = beta · C (OpenBLAS would do the same, with a call).
            for row in 0..<m { for col in 0..<n { c[row * ldc + col] *= beta } }
            return
        }
        if WideGemm.isEnabled, alpha == 1, beta == 0 || beta == 1, WideGemm.suits(m: m, n: n, k: k, transposeB: transposeB) {
            WideGemm.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b,
                ldb: ldb, c: c, ldc: ldc, accumulate: beta == 1)
            return
        }
        if WideGemm.isEnabled, !transposeB, alpha == 1, beta == 0 || beta == 1,
            transposeA ? SmallGemm.suitsNarrowTransposedA(m: m, n: n, k: k) : SmallGemm.suitsNarrow(m: m, n: n)
        {
            if beta == 0 { for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) } }
            SmallGemm.accumulate(transposeA: transposeA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        openBLASGemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Writes Aᵀ `(columns, rows)`, packed, for A `(rows, columns)` with leading dimension `lda`
    /// (A read row by row).
    @inlinable
    public static func transpose(
        _ a: UnsafePointer<Float>, rows: Int, columns: Int, lda: Int, into transposed: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<rows { for j in 0..<columns { transposed[j * rows + i] = a[i * lda + j] } }
    }

    /// `gemm` in OpenBLAS itself, never `WideGemm` (the benchmarks measure the machine's sgemm
    /// peak with it). Same conventions; m, n and k positive.
    @inlinable
    public static func openBLASGemm(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// OpenBLAS's name for the kernels it runs ("Haswell", "Cooperlake", ...): chosen from the
    /// CPU when the library loads, unless the environment's `OPENBLAS_CORETYPE` names them.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The number of threads OpenBLAS uses for one call (setting the value it has is skipped).
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            let count = Int32(max(1, newValue))
            if openblas_get_num_threads() != count { openblas_set_num_threads(count) }
        }
    }
}
