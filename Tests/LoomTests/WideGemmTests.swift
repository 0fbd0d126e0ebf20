import LoomKernels
import XCTest

@_spi(Kernels) @testable import Loom

/// Loom's 16-lane product kernel against OpenBLAS itself, at every kernel level this CPU has,
/// over whole tiles, every edge, depths across a block boundary, strides, packed and in-place
/// B panels, A and B transposed or not, and both writing and adding to C.
final class WideGemmTests: XCTestCase {
    func testMatchesOpenBLASOnTilesEdgesStridesAndDepthBlocks() throws {
        for level in Kernels.supportedLevels {
            try assertMatchesOpenBLAS(XCTUnwrap(Kernels.table(at: level)), level)
        }
    }

    private func assertMatchesOpenBLAS(_ table: LoomKernelTable, _ level: Kernels.Level) {
        var generator = SeededGenerator(seed: 4)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.normal()) } }
        // (67, 65, 300) and (130, 512, 64) pack their panels, (35, 48, 300) too for its depth;
        // (270, 32, 3) crosses a row block.
        let shapes = [
            (4, 32, 1), (8, 64, 16), (5, 40, 7), (67, 65, 300), (130, 512, 64), (3, 31, 9), (1, 16, 513),
            (64, 24, 5), (35, 48, 300), (270, 32, 3),
        ]
        for (m, n, k) in shapes {
            for (transposeA, transposeB, accumulate) in [
                (false, false, false), (false, false, true), (true, false, false),
                (true, false, true), (false, true, false), (true, true, true),
            ] {
                let (lda, ldb, ldc) = (transposeA ? m + 3 : k + 3, transposeB ? k + 5 : n + 5, n + 2)
                let a = values((transposeA ? k : m) * lda), b = values((transposeB ? n : k) * ldb), start = values(m * ldc)
                var mine = start, theirs = start
                mine.withUnsafeMutableBufferPointer {
                    WideGemm.multiply(
                        table, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a,
                        lda: lda, b: b, ldb: ldb, c: $0.baseAddress!, ldc: ldc, accumulate: accumulate)
                }
                theirs.withUnsafeMutableBufferPointer {
                    BLAS.openBLASGemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                        b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: $0.baseAddress!, ldc: ldc)
                }
                var worst: Float = 0
                for i in 0..<m {
                    for j in 0..<n {
                        let (x, y) = (mine[i * ldc + j], theirs[i * ldc + j])
                        worst = max(worst, abs(x - y) / (1 + abs(y)))
                    }
                    for j in n..<ldc { XCTAssertEqual(mine[i * ldc + j], start[i * ldc + j], "(\(m), \(n), \(k)): padding touched") }
                }
                // Float sums of up to 513 products of unit normals, in another order: typically
                // ~1e-6 apart relative to 1 + |sum|, a few in ten thousand beyond 2e-5.
                XCTAssertLessThan(
                    worst, 1e-4, "\(level): (\(m), \(n), \(k)), transposed \(transposeA) \(transposeB), accumulate \(accumulate)")
            }
        }
    }

    /// `BLAS.gemm` against OpenBLAS on one shape per route: with `WideGemm` on (the AVX-512
    /// level), untransposed, A transposed, B transposed (8-column multiples allowed) and narrow
    /// products (`SmallGemm`, C written or added to, A transposed or not); at other levels all
    /// of them go to OpenBLAS.
    func testEveryRouteOfBLASGemmMatchesOpenBLAS() {
        var generator = SeededGenerator(seed: 5)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.normal()) } }
        let routes: [(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, beta: Float)] = [
            (false, false, 130, 64, 20, 0), (true, false, 40, 48, 300, 1), (false, true, 100, 40, 24, 0),
            (false, false, 200, 8, 9, 0), (false, false, 200, 16, 9, 1), (false, false, 70, 24, 5, 0),
            (true, false, 9, 8, 700, 1), (true, false, 6, 16, 80, 0),
        ]
        for route in routes {
            let (m, n, k) = (route.m, route.n, route.k)
            let lda = route.transposeA ? m + 1 : k + 1, ldb = route.transposeB ? k + 3 : n + 3, ldc = n + 2
            let a = values((route.transposeA ? k : m) * lda), b = values((route.transposeB ? n : k) * ldb)
            let start = values(m * ldc)
            var mine = start, theirs = start
            mine.withUnsafeMutableBufferPointer {
                BLAS.gemm(
                    transposeA: route.transposeA, transposeB: route.transposeB, m: m, n: n, k: k, a: a, lda: lda,
                    b: b, ldb: ldb, beta: route.beta, c: $0.baseAddress!, ldc: ldc)
            }
            theirs.withUnsafeMutableBufferPointer {
                BLAS.openBLASGemm(
                    transposeA: route.transposeA, transposeB: route.transposeB, m: m, n: n, k: k, a: a,
                    lda: lda, b: b, ldb: ldb, beta: route.beta, c: $0.baseAddress!, ldc: ldc)
            }
            for i in 0..<m {
                for j in 0..<n {
                    XCTAssertEqual(
                        mine[i * ldc + j], theirs[i * ldc + j], accuracy: 1e-4 * (1 + abs(theirs[i * ldc + j])),
                        "\(route) at \(i), \(j)")
                }
                for j in n..<ldc { XCTAssertEqual(mine[i * ldc + j], start[i * ldc + j], "\(route): padding touched") }
            }
        }
    }
}
