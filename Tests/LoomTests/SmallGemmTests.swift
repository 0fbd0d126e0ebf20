import LoomKernels
import XCTest

@_spi(Kernels) @testable import Loom

/// The small-product kernels against OpenBLAS itself, at every kernel level this CPU has.
final class SmallGemmTests: XCTestCase {
    func testMatchesOpenBLASWithTailColumnsAndStrides() {
        // Four rows at a time and the rows left (9 = 4 + 4 + 1), whole vectors and tail columns.
        for (m, n, k) in [(1, 1, 1), (16, 40, 10), (16, 10, 40), (3, 17, 5), (5, 8, 3), (9, 8, 9)] {
            assertMatchesOpenBLAS(transposeA: false, m: m, n: n, k: k, accuracy: 1e-4, seed: 3)
        }
    }

    /// A transposed (a convolution's kernel gradient): blocks of four rows and the rows left,
    /// several 8-column vectors, k across chunks, strides.
    func testTransposedAMatchesOpenBLAS() {
        for (m, n, k) in [(1, 8, 64), (4, 8, 100), (9, 8, 1300), (13, 24, 515)] {
            assertMatchesOpenBLAS(transposeA: true, m: m, n: n, k: k, accuracy: 1e-3, seed: 4)
        }
    }

    /// The kernels' `smallGemm` (C += op(A) · B) against OpenBLAS on random values, with every
    /// leading dimension past the matrix width; the padding of C must stay as it was.
    private func assertMatchesOpenBLAS(
        transposeA: Bool, m: Int, n: Int, k: Int, accuracy: Float, seed: UInt64, line: UInt = #line
    ) {
        for level in Kernels.supportedLevels {
            guard let table = Kernels.table(at: level) else { return XCTFail("no table for \(level)", line: line) }
            assertMatchesOpenBLAS(
                table, level, transposeA: transposeA, m: m, n: n, k: k, accuracy: accuracy, seed: seed,
                line: line)
        }
    }

    private func assertMatchesOpenBLAS(
        _ table: LoomKernelTable, _ level: Kernels.Level, transposeA: Bool, m: Int, n: Int, k: Int, accuracy: Float,
        seed: UInt64, line: UInt
    ) {
        var generator = SeededGenerator(seed: seed)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.normal()) } }
        let (lda, ldb, ldc) = (transposeA ? m + 2 : k + 2, n + 1, n + 3)
        let a = values((transposeA ? k : m) * lda), b = values(k * ldb), start = values(m * ldc)
        var mine = start, theirs = start
        mine.withUnsafeMutableBufferPointer {
            table.smallGemm(transposeA, m, n, k, a, lda, b, ldb, $0.baseAddress!, ldc)
        }
        theirs.withUnsafeMutableBufferPointer {
            BLAS.openBLASGemm(
                transposeA: transposeA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 1,
                c: $0.baseAddress!, ldc: ldc)
        }
        for i in 0..<m {
            for j in 0..<n {
                XCTAssertEqual(
                    mine[i * ldc + j], theirs[i * ldc + j], accuracy: accuracy, "\(level): (\(m), \(n), \(k)) at \(i), \(j)",
                    line: line)
            }
            for j in n..<ldc { XCTAssertEqual(mine[i * ldc + j], start[i * ldc + j], "padding untouched", line: line) }
        }
    }
}
