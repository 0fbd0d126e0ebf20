import Loom
import XCTest

/// Finite-difference check of every parameter gradient of a compiled model.
///
/// Central differences `(L(w + ε) − L(w − ε)) / 2ε` with ε = 1e-2 on the float32 model, the
/// loss summed in Double. Truncation error is O(ε²) ≈ 1e-4 relative for these smooth nets and
/// float32 rounding adds about 1e-7/ε = 1e-5, so analytic and numeric gradients must agree to
/// `2e-3 · max(|a|, |n|) + 1e-4`; a wrong term (a missing gate, a transposed weight, an
/// off-by-one timestep) misses that by orders of magnitude.
///
/// `prepare` runs before every loss evaluation with the unperturbed weights in place (a
/// stateful test uses it to rebuild the carried state, a dropout test to reseed its masks).
/// With `lossInTraining` the numeric loss comes from a training-mode pass (dropout on);
/// `sampleWeight` weighs the loss in both.
public func checkGradients(
    _ model: Sequential, x: Tensor, y: Tensor, sampleWeight: Tensor? = nil, lossInTraining: Bool = false,
    prepare: () throws -> Void = {}, file: StaticString = #filePath, line: UInt = #line
) throws {
    let epsilon: Float = 1e-2
    try prepare()
    let analytic = try model.lossAndGradients(x: x, y: y, sampleWeight: sampleWeight).gradients.flatMap(\.scalars)
    let original = try model.weights()
    let flat = original.flatMap(\.scalars)
    func loss(_ index: Int, _ delta: Float) throws -> Double {
        try model.setWeights(original)
        try prepare()
        var perturbed = flat
        perturbed[index] += delta
        try model.setWeights(reshape(perturbed, like: original))
        if lossInTraining { return try model.lossAndGradients(x: x, y: y, sampleWeight: sampleWeight).loss }
        return try model.evaluate(x: x, y: y, batchSize: x.sampleCount, sampleWeight: sampleWeight)["loss"]!
    }
    var failures = 0
    for index in flat.indices {
        let numeric = Float((try loss(index, epsilon) - loss(index, -epsilon)) / Double(2 * epsilon))
        let a = analytic[index]
        if abs(a - numeric) > 2e-3 * max(abs(a), abs(numeric)) + 1e-4 {
            failures += 1
            if failures <= 5 {
                XCTFail("parameter \(index): analytic \(a), numeric \(numeric)", file: file, line: line)
            }
        }
    }
    try model.setWeights(original)
    XCTAssertEqual(failures, 0, "\(failures) of \(flat.count) gradients off", file: file, line: line)
}

private func reshape(_ flat: [Float], like tensors: [Tensor]) throws -> [Tensor] {
    var offset = 0
    return try tensors.map { tensor in
        defer { offset += tensor.scalars.count }
        return try Tensor(shape: tensor.shape, scalars: Array(flat[offset..<offset + tensor.scalars.count]))
    }
}

/// Sine waves from random phases: x `(samples, timesteps, 1)`, and y the wave's next value.
public func sineData(samples: Int, timesteps: Int, seed: UInt64) -> (Tensor, Tensor) {
    var generator = SeededGenerator(seed: seed)
    var x = Tensor(shape: [samples, timesteps, 1]), y = Tensor(shape: [samples, 1])
    for s in 0..<samples {
        let phase = Float(generator.uniform()) * 6.28
        for t in 0..<timesteps { x[s, t, 0] = sin(phase + Float(t) * 0.3) }
        y[s, 0] = sin(phase + Float(timesteps) * 0.3)
    }
    return (x, y)
}

/// A tensor of normal values from a fixed seed.
public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return try! Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in Float(generator.normal()) * scale })
}

/// One-hot rows of `classes` columns from a fixed seed.
public func oneHot(samples: Int, classes: Int, seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    var tensor = Tensor(shape: [samples, classes])
    for s in 0..<samples { tensor[s, Int(generator.next() % UInt64(classes))] = 1 }
    return tensor
}

/// 0/1 values from a fixed seed.
public func binaryTargets(_ shape: [Int], seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return try! Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in Float(generator.next() % 2) })
}
