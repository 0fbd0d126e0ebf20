import Dispatch

/// The measured peak of fused multiply-adds: the kernels' `fmaPeakLoop` (12 independent chains
/// in the widest registers) at the CPU's highest level, whatever `LOOM_KERNEL_LEVEL` caps
/// Loom's own kernels to (OpenBLAS still runs its best products), on `threads` threads at
/// once: the yardstick a model's GFLOP/s is a fraction of. All threads run together, since
/// two vCPUs may share one core's FMA units.
@_spi(Kernels) public enum FMAPeak {
    /// GFLOP/s of `threads` threads together: each runs the loop for about `seconds`, and the
    /// flops of all over the wall time of all count (more threads than cores share them); the
    /// best of `rounds` rounds.
    public static func measure(threads: Int = 1, seconds: Double = 0.2, rounds: Int = 3) -> Double {
        let threads = max(1, threads)
        // Rounds of the loop that last about `seconds` on one thread, from a short calibration.
        var iterations = 1 << 16
        while iterations < 1 << 34 {
            let (elapsed, _) = run(iterations)
            if elapsed >= seconds / 8 {
                iterations = Int(Double(iterations) * seconds / elapsed)
                break
            }
            iterations *= 4
        }
        let rounds = max(1, rounds), loops = iterations
        var best = 0.0
        for _ in 0..<rounds {
            // Each thread writes its own slot only.
            nonisolated(unsafe) let flops = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
            defer { flops.deallocate() }
            let start = DispatchTime.now()
            DispatchQueue.concurrentPerform(iterations: threads) { thread in flops[thread] = run(loops).flops }
            let elapsed = start.secondsElapsed
            best = max(best, flops.reduce(0, +) / max(elapsed, 1e-9) / 1e9)
        }
        return best
    }

    /// The level the peak is measured at: the CPU's highest.
    public static var level: Kernels.Level { Kernels.supportedLevel }

    private static let kernels = Kernels.table(at: level) ?? Kernels.table

    /// One run of the loop: its seconds and flops.
    private static func run(_ iterations: Int) -> (seconds: Double, flops: Double) {
        var flops = 0.0
        let start = DispatchTime.now()
        let sum = kernels.fmaPeakLoop(iterations, &flops)
        let elapsed = start.secondsElapsed
        // A sum that is never NaN keeps the loop's result alive without printing it.
        return (sum.isNaN ? .infinity : max(elapsed, 1e-9), flops)
    }
}
