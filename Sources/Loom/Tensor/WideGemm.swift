import LoomKernels

/// `C (m, n) = op(A) · op(B) (+ C)`, row-major, in 16-lane vectors, with `op(A)` = A `(m, k)`
/// or Aᵀ for A stored `(k, m)`, likewise B: Loom's own kernel for the layers' products (input
/// projections, recurrent steps, Dense and convolution forward passes, the recurrent backward
/// through a transposed copy, the weight gradients `xᵀ · dz` and the input gradients
/// `dz · kernelᵀ`).
///
/// Why: on an AVX-512 CPU whose OpenBLAS runs its AVX2 kernels (this project's machines set
/// `OPENBLAS_CORETYPE=Haswell`), these 16-lane tiles are faster (512×512×128: 228 GFLOP/s
/// against 126 on one core of the 2-vCPU AMD EPYC). `BLAS.gemm` sends products here when
/// `isEnabled` (the kernels run at the AVX-512 level) and `suits` their shape. On AVX2 the
/// tile's accumulators would not fit in the registers, and OpenBLAS runs its own kernels.
///
/// The product itself is the kernels' `wideGemm` (`LoomKernels/KernelBodies.h`): the depth in
/// slices of `depthBlock`, the rows in blocks of 256, B's 32-column panels copied into the
/// thread's `GemmScratch` for products of 64 rows or more, tiles of 4 rows × 32 columns. The
/// sums of a product come out in the same order on every call, so results are reproducible.
@_spi(Kernels) public enum WideGemm {
    /// The depth of one slice, as in the kernel: the packed panel holds `depthBlock × 32` floats.
    static let depthBlock = 256
    /// Products with B stored transposed need at least this many rows: B is first copied
    /// untransposed, which costs about 1/m of the product (the recurrent layers' input
    /// gradients `dz · kernelᵀ` have thousands; a Dense layer's, one batch).
    public static let transposedBRows = 64

    /// Whether `BLAS.gemm` uses this kernel: the kernels run at the AVX-512 level.
    public static let isEnabled = Kernels.level >= .avx512

    /// Whether a product of this shape is worth a call: at least one tile, and whole 16-column
    /// vectors (others, such as a 10-unit LSTM's 40 gate columns, ran faster in OpenBLAS; 32
    /// columns suffice: a 32-column recurrent backward was 7% slower elsewhere). A transposed
    /// B needs `transposedBRows`, and takes 8-column multiples too (a convolution-fed LSTM's
    /// input gradient has 392 columns).
    @inlinable
    public static func suits(m: Int, n: Int, k: Int, transposeB: Bool = false) -> Bool {
        m >= (transposeB ? transposedBRows : 4) && n >= 32 && n % (transposeB ? 8 : 16) == 0 && k >= 1
    }

    /// `C = op(A) · op(B)`, or `C += op(A) · op(B)` when `accumulate`. A is `(m, k)` with
    /// `lda >= k`, or `(k, m)` with `lda >= m` when `transposeA`; B is `(k, n)` with `ldb >= n`,
    /// or `(n, k)` with `ldb >= k` when `transposeB` (copied untransposed into the thread's
    /// scratch first). Runs at the kernels' level, whatever `isEnabled` says.
    public static func multiply(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        multiply(
            Kernels.table, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b,
            ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    }

    /// `multiply` with the kernels of `table` (the tests run each level's).
    static func multiply(
        _ table: LoomKernelTable, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>,
        lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let scratch = GemmScratch.current
        guard transposeB else {
            table.wideGemm(transposeA, m, n, k, a, lda, b, ldb, c, ldc, accumulate, scratch.panel.pointer)
            return
        }
        let copy = scratch.untransposed.reserveDiscarding(k * n)
        BLAS.transpose(b, rows: n, columns: k, lda: ldb, into: copy)
        table.wideGemm(transposeA, m, n, k, a, lda, copy, n, c, ldc, accumulate, scratch.panel.pointer)
    }
}
