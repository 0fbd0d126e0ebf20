import LoomKernels

/// Loom's own kernels (activations, the LSTM cell, `WideGemm`, `SmallGemm`, column sums, the
/// optimizers' updates), in the C target `LoomKernels`, compiled once per instruction-set level
/// and chosen when the process starts from what the CPU reports. A plain `swift build` of
/// Loom, or of a package that depends on it, thus runs at the width of the CPU it runs on, and
/// the same binary still runs on a CPU without AVX.
///
/// The environment variable `LOOM_KERNEL_LEVEL` (`baseline`, `avx2`, `avx512`) caps the level:
/// levels differ in the last bits (fused multiply-adds), so capping reproduces one machine's
/// results on another, and the tests run at every level the machine has.
@_spi(Kernels) public enum Kernels {
    /// An instruction-set level of the kernels, lowest first.
    public enum Level: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
        /// SSE2 on x86-64 (portable C elsewhere): no fused multiply-add.
        case baseline
        /// AVX2 with FMA.
        case avx2
        /// AVX-512 (F, DQ, BW, VL) with FMA.
        case avx512

        /// The name `LOOM_KERNEL_LEVEL` takes.
        public var description: String {
            switch self {
            case .baseline: return "baseline"
            case .avx2: return "avx2"
            case .avx512: return "avx512"
            }
        }

        /// Lower levels first: `baseline < avx2 < avx512`.
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        init(_ level: LoomKernelLevel) { self = Level(rawValue: Int(level.rawValue)) ?? .baseline }

        var cLevel: LoomKernelLevel { LoomKernelLevel(rawValue: UInt32(rawValue)) }
    }

    /// The kernels in use, chosen once per process.
    static let table: LoomKernelTable = loom_kernels().pointee

    /// The level in use: the CPU's highest, capped by `LOOM_KERNEL_LEVEL`.
    public static var level: Level { Level(table.level) }

    /// The highest level this CPU supports.
    public static var supportedLevel: Level { Level(loom_kernel_supported_level()) }

    /// Every level this CPU supports, lowest first.
    public static var supportedLevels: [Level] { Level.allCases.filter { $0 <= supportedLevel } }

    /// A refusal of `LOOM_KERNEL_LEVEL` when it names no level (nil when unset or valid); the
    /// kernels then run at the CPU's level.
    public static var requestedLevelProblem: String? {
        var requested = LoomKernelLevelBaseline
        guard loom_kernel_level_requested(&requested) < 0 else { return nil }
        return "LOOM_KERNEL_LEVEL must be baseline, avx2 or avx512"
    }

    /// One level's kernels (for tests that compare the levels); nil when the CPU lacks it.
    static func table(at level: Level) -> LoomKernelTable? { loom_kernels_at(level.cLevel)?.pointee }
}
