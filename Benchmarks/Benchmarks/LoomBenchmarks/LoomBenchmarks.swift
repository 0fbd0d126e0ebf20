// ordo-one package-benchmark suites: one training step and one prediction batch of each
// reference model, and the kernels on their own, so a regression shows where it comes from.
//   cd Benchmarks && swift package benchmark
import Benchmark
@_spi(Kernels) import Loom
import ReferenceModels

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(3))
    BLAS.threadCount = 1
    print("Loom kernels \(Kernels.level), OpenBLAS \(BLAS.coreName)")

    for reference in ReferenceModel.all {
        Benchmark("train step \(reference.benchmark) \(reference.id)") { benchmark in
            let model = try reference.makeModel()
            let (x, y) = try reference.makeData(samples: reference.batchSize)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try model.trainOnBatch(x: x, y: y) }
        }
        Benchmark("predict \(reference.benchmark) \(reference.id)") { benchmark in
            let model = try reference.makeModel()
            let (x, _) = try reference.makeData(samples: reference.predictBatchSize)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try reference.predict(model, x: x, workers: 1)) }
        }
    }

    // B2's step with clipping by the global norm, against the plain step above.
    Benchmark("train step B2 lstm128 global clipnorm") { benchmark in
        let reference = ReferenceModel.lstm128
        let model = try reference.makeModel()
        try model.compile(optimizer: Adam(clipping: .globalNorm(1)), loss: .meanSquaredError)
        let (x, y) = try reference.makeData(samples: reference.batchSize)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try model.trainOnBatch(x: x, y: y) }
    }

    // One update of B2's parameters by each optimizer (Lamb and LARS with the whole buffer as
    // one variable: both norms and both passes, as per variable in training).
    for name in Optimizers.names {
        Benchmark("optimizer update \(name) B2 parameters") { benchmark in
            let model = try ReferenceModel.lstm128.makeModel()
            let count = model.parameterCount
            let optimizer = try Optimizers.named(name)
            optimizer.prepare(parameterCount: count)
            let weights = FloatBuffer(count: count), gradients = FloatBuffer(count: count)
            for k in 0..<count {
                weights.pointer[k] = Float(k % 97) * 0.01 - 0.5
                gradients.pointer[k] = Float(k % 89) * 0.001 - 0.04
            }
            benchmark.startMeasurement()
            var step = 0
            for _ in benchmark.scaledIterations {
                step += 1
                optimizer.willUpdate(step: step)
                optimizer.update(
                    parameters: weights.pointer, gradients: gradients.pointer, range: 0..<count, step: step,
                    rate: optimizer.learningRate)
            }
            blackHole(weights.pointer[0])
        }
    }

    // The LSTM of B2 and the convolution of B6 alone, forward and forward + backward.
    let kernels: [(String, () -> any Layer, [Int], Int)] = [
        ("LSTM(128) on (32, 64)", { LSTM(128) }, [32, 64], 512),
        ("Conv2D(8, 3x3) on (16, 16, 1)", { Conv2D(8, kernelSize: (3, 3), activation: .relu) }, [16, 16, 1], 512),
    ]
    for (name, makeLayer, shape, batch) in kernels {
        for backward in [false, true] {
            Benchmark("\(name) batch \(batch) \(backward ? "forward + backward" : "forward")") { benchmark in
                let layer = makeLayer()
                let output = try layer.build(inputShape: shape)
                let parameters = FloatBuffer(count: layer.parameterCount), gradients = FloatBuffer(count: layer.parameterCount)
                var generator = SeededGenerator(seed: 1)
                var offset = 0
                for spec in layer.parameterSpecs {
                    spec.initializer.fill(parameters.pointer + offset, shape: spec.shape, using: &generator)
                    offset += spec.count
                }
                layer.bind(ParameterBinding(values: parameters.pointer, gradients: gradients.pointer, offset: 0))
                let x = FloatBuffer(count: batch * Shape.count(shape)), dy = FloatBuffer(count: batch * Shape.count(output))
                for i in 0..<(batch * Shape.count(shape)) { x.pointer[i] = Float(2 * generator.uniform() - 1) }
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(layer.forward(x.pointer, batch: batch, training: backward))
                    if backward {
                        dy.pointer.update(repeating: 0.01, count: batch * Shape.count(output))
                        blackHole(layer.backward(dy.pointer, batch: batch, needsInputGradient: true))
                    }
                }
            }
        }
    }

    // The layers' products (WideGemm where enabled) and OpenBLAS's: B2's recurrent step, and
    // its recurrent-kernel gradient hᵀ · dz (A transposed: 128×512 over 16384 rows). Without
    // WideGemm (the plugin's plain release build), `BLAS.gemm` is OpenBLAS: timed once.
    let shapes = [
        (name: "512x512x128", transposeA: false, m: 512, n: 512, k: 128),
        (name: "transposed 128x512x16384", transposeA: true, m: 128, n: 512, k: 16384),
    ]
    for shape in shapes {
        for wide in WideGemm.isEnabled ? [true, false] : [false] {
            Benchmark("\(wide ? "BLAS.gemm" : "OpenBLAS sgemm") \(shape.name)") { benchmark in
                let (m, n, k) = (shape.m, shape.n, shape.k)
                let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.5, count: k * n)
                var c = [Float](repeating: 0, count: m * n)
                let lda = shape.transposeA ? m : k
                for _ in benchmark.scaledIterations {
                    c.withUnsafeMutableBufferPointer {
                        if wide {
                            BLAS.gemm(
                                transposeA: shape.transposeA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n,
                                c: $0.baseAddress!, ldc: n)
                        } else {
                            BLAS.openBLASGemm(
                                transposeA: shape.transposeA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n,
                                c: $0.baseAddress!, ldc: n)
                        }
                    }
                }
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
