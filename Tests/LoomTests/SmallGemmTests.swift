import XCTest
@testable import Loom

/// The replicas' small-product kernel against OpenBLAS itself.
final class SmallGemmTests: XCTestCase {
    func testMatchesOpenBLASWithTailColumnsAndStrides() {
        var generator = SeededGenerator(seed: 3)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.normal()) } }
        // Four rows at a time and the rows left (9 = 4 + 4 + 1), whole vectors and tail columns.
        for (m, n, k) in [(1, 1, 1), (16, 40, 10), (16, 10, 40), (3, 17, 5), (5, 8, 3), (9, 8, 9)] {
            let (lda, ldb, ldc) = (k + 2, n + 1, n + 3)
            let a = values(m * lda), b = values(k * ldb), start = values(m * ldc)
            var mine = start, theirs = start
            mine.withUnsafeMutableBufferPointer {
                SmallGemm.accumulate(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: $0.baseAddress!, ldc: ldc)
            }
            theirs.withUnsafeMutableBufferPointer {
                BLAS.openBLASGemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: $0.baseAddress!, ldc: ldc)
            }
            for i in 0..<m {
                for j in 0..<n { XCTAssertEqual(mine[i * ldc + j], theirs[i * ldc + j], accuracy: 1e-4, "(\(m), \(n), \(k)) at \(i), \(j)") }
                for j in n..<ldc { XCTAssertEqual(mine[i * ldc + j], start[i * ldc + j], "padding untouched") }
            }
        }
    }

    /// The transposed-A kernel (a convolution's kernel gradient): blocks of four rows and the
    /// rows left, several 8-column vectors, k across chunks, strides.
    func testTransposedAMatchesOpenBLAS() {
        var generator = SeededGenerator(seed: 4)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.normal()) } }
        for (m, n, k) in [(1, 8, 64), (4, 8, 100), (9, 8, 1300), (13, 24, 515)] {
            let (lda, ldb, ldc) = (m + 2, n + 1, n + 3)
            let a = values(k * lda), b = values(k * ldb), start = values(m * ldc)
            var mine = start, theirs = start
            mine.withUnsafeMutableBufferPointer {
                SmallGemm.accumulateTransposedA(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: $0.baseAddress!, ldc: ldc)
            }
            theirs.withUnsafeMutableBufferPointer {
                BLAS.openBLASGemm(transposeA: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 1,
                                  c: $0.baseAddress!, ldc: ldc)
            }
            for i in 0..<m {
                for j in 0..<n {
                    XCTAssertEqual(mine[i * ldc + j], theirs[i * ldc + j], accuracy: 1e-3, "(\(m), \(n), \(k)) at \(i), \(j)")
                }
                for j in n..<ldc { XCTAssertEqual(mine[i * ldc + j], start[i * ldc + j], "padding untouched") }
            }
        }
    }
}
