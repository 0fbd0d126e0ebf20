// ordo-one package-benchmark suites: one training step and one prediction batch of each
// reference model, and the kernels on their own, so a regression shows where it comes from.
//   cd Benchmarks && swift package benchmark
import Benchmark
import Loom
import ReferenceModels

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(3))
    BLAS.threadCount = 1

    for reference in ReferenceModel.all {
        Benchmark("train step \(reference.id)") { benchmark in
            let model = try reference.makeModel()
            let (x, y) = try reference.makeData(samples: reference.batchSize)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try model.trainOnBatch(x: x, y: y) }
        }
        Benchmark("predict \(reference.id)") { benchmark in
            let model = try reference.makeModel()
            let (x, _) = try reference.makeData(samples: 1024)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try model.predict(x, batchSize: 1024)) }
        }
    }

    Benchmark("sgemm 512x512x128") { benchmark in
        let a = [Float](repeating: 0.5, count: 512 * 128), b = [Float](repeating: 0.5, count: 128 * 512)
        var c = [Float](repeating: 0, count: 512 * 512)
        for _ in benchmark.scaledIterations {
            c.withUnsafeMutableBufferPointer {
                BLAS.gemm(m: 512, n: 512, k: 128, a: a, lda: 128, b: b, ldb: 512, c: $0.baseAddress!, ldc: 512)
            }
        }
    }

    Benchmark("sigmoid 1M") { benchmark in
        var values = [Float](repeating: 0.3, count: 1 << 20)
        for _ in benchmark.scaledIterations {
            values.withUnsafeMutableBufferPointer { Activation.sigmoid.apply($0.baseAddress!, count: $0.count) }
        }
    }

    Benchmark("tanh 1M") { benchmark in
        var values = [Float](repeating: 0.3, count: 1 << 20)
        for _ in benchmark.scaledIterations {
            values.withUnsafeMutableBufferPointer { Activation.tanh.apply($0.baseAddress!, count: $0.count) }
        }
    }
}
