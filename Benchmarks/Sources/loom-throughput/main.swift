// Training and prediction throughput of one reference model, for Benchmarks/compare.
//
//   loom-throughput MODEL [--threads N] [--rounds R] [--steps S] [--unmasked]
//
// B8 (padded) trains on its lengths' mask; with --unmasked, on every row at full length (printed
// as padded-full), the work the mask saves.
// N threads means N data-parallel workers, each with one OpenBLAS thread. Prints one line per
// round: `loom MODEL threads train_samples_per_s predict_samples_per_s gflops`, where gflops
// counts training as 3x the forward flops. Predictions run at batch 1024 (B7: its fixed 32). Also measures the sgemm peak of this machine at
// the same thread count (`sgemm THREADS GFLOPS CORE`, CORE the OpenBLAS kernels used), the FMA
// peak of that many threads at once (`fma THREADS GFLOPS LEVEL`, `FMAPeak`), and the level of
// Loom's own kernels (`kernels LEVEL`).
import Dispatch
import Foundation
@_spi(Kernels) import Loom
import ReferenceModels

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func option(_ name: String, default value: Int) -> Int {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count,
        let parsed = Int(CommandLine.arguments[index + 1])
    else { return value }
    return parsed
}

/// OpenBLAS's sgemm GFLOP/s on square 1024 matrices, best of 5.
func sgemmPeak() -> Double {
    let n = 1024
    let a = [Float](repeating: 0.5, count: n * n), b = a
    var c = [Float](repeating: 0, count: n * n)
    var best = Double.infinity
    for _ in 0..<5 {
        best = min(
            best,
            seconds {
                c.withUnsafeMutableBufferPointer { c in
                    BLAS.openBLASGemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c.baseAddress!, ldc: n)
                }
            })
    }
    return 2 * Double(n * n * n) / best / 1e9
}

guard CommandLine.arguments.count > 1, let reference = ReferenceModel.named(CommandLine.arguments[1]) else {
    FileHandle.standardError.write(
        "usage: loom-throughput \((ReferenceModel.all + [.padded]).map(\.id).joined(separator: "|")) [--threads N] [--rounds R] [--steps S] [--unmasked]\n"
            .data(
                using: .utf8)!)
    exit(2)
}
let threads = option("--threads", default: 1)
let rounds = option("--rounds", default: 3)
let steps = option("--steps", default: reference.defaultSteps)
let masked = !CommandLine.arguments.contains("--unmasked")
let name = masked ? reference.id : reference.id + "-full"
BLAS.threadCount = threads
print("sgemm \(threads) \(String(format: "%.1f", sgemmPeak())) \(BLAS.coreName)")
print("fma \(threads) \(String(format: "%.1f", FMAPeak.measure(threads: threads))) \(FMAPeak.level)")
print("kernels \(Kernels.level)")

BLAS.threadCount = 1
let model = try reference.makeModel()
let (x, y) = try reference.makeData(samples: reference.batchSize * steps)
// Warm-up, as the Keras and PyTorch scripts do: one epoch and one prediction.
try reference.fitEpoch(model, x: x, y: y, workers: threads, masked: masked)
_ = try reference.predict(model, x: x, workers: threads, masked: masked)
for _ in 0..<rounds {
    let train = try seconds { try reference.fitEpoch(model, x: x, y: y, workers: threads, masked: masked) }
    let predict = try seconds { _ = try reference.predict(model, x: x, workers: threads, masked: masked) }
    let samples = Double(x.sampleCount)
    let gflops = 3 * reference.forwardFlopsPerSample * samples / train / 1e9
    print(String(format: "loom %@ %d %.0f %.0f %.1f", name, threads, samples / train, samples / predict, gflops))
}
