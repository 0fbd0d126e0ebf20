import Foundation
import TestSupport
import XCTest

@testable import Loom

/// The pieces of an exchange overlapped with the backward pass that run in one process: where
/// `GradientBuckets` cuts the parameters, and that a replica tells `gradientsFinished` only
/// of gradients that no later part of the pass changes (across `mpirun` ranks,
/// `CLITests.testTheOverlappedExchangeGivesTheBitsOfTheExchangeAfterTheBackwardPass`).
final class OverlapTests: XCTestCase {
    private func stacked() throws -> Sequential {
        let model = Sequential(seed: 3) {
            Input(shape: [6, 4]); Masking(); LSTM(8, returnSequences: true); Dropout(0.2); GRU(5); Dense(2)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        try model.build()
        return model
    }

    func testBucketsTileTheParametersFromTheTopAtLayersAndRecurrentKernels() throws {
        let model = try stacked()
        let layout = model.parameterStore.layout
        let offsets = layout.layerOffsets
        let recurrent = layout.variables.filter { $0.name == "recurrent_kernel" }.map(\.range.lowerBound)
        for minimum in [1, 40, 200, 100_000] {
            let buckets = GradientBuckets(layers: model.layers, layout: layout, minimumFloats: minimum, shardCount: 2)
            XCTAssertEqual(buckets.ranges.first?.upperBound, layout.count, "\(minimum)")
            XCTAssertEqual(buckets.ranges.last?.lowerBound, 0, "\(minimum)")
            for (upper, lower) in zip(buckets.ranges, buckets.ranges.dropFirst()) {
                XCTAssertEqual(upper.lowerBound, lower.upperBound, "\(minimum): contiguous, from the top down")
            }
            for bucket in buckets.ranges {
                XCTAssertTrue(offsets.contains(bucket.lowerBound) || recurrent.contains(bucket.lowerBound), "\(bucket)")
            }
            for bucket in buckets.ranges.dropLast(2) { XCTAssertTrue(bucket.count >= minimum, "\(minimum): \(bucket) is too small") }
            // What is left after the pass: the first layer's kernel alone.
            XCTAssertEqual(buckets.ranges.last, 0..<recurrent.min()!, "\(minimum)")
        }
        // A bucket a layer and a recurrent kernel at 1 float: Dense, GRU's recurrent kernel and bias, its kernel,
        // the LSTM's recurrent kernel and bias, its kernel (Masking and Dropout have none).
        XCTAssertEqual(GradientBuckets(layers: model.layers, layout: layout, minimumFloats: 1, shardCount: 1).ranges.count, 5)
        XCTAssertEqual(
            GradientBuckets(layers: model.layers, layout: layout, minimumFloats: 100_000, shardCount: 1).ranges,
            [recurrent.min()!..<layout.count, 0..<recurrent.min()!])
        // A Bidirectional finishes its gradients as a whole: no cut at its inner layers' recurrent kernels.
        let wrapped = Sequential(seed: 4) {
            Input(shape: [6, 4]); Bidirectional(LSTM(6)); Dense(1)
        }
        try wrapped.compile(optimizer: Adam(), loss: .meanSquaredError)
        try wrapped.build()
        let wrappedLayout = wrapped.parameterStore.layout
        XCTAssertEqual(
            GradientBuckets(layers: wrapped.layers, layout: wrappedLayout, minimumFloats: 1, shardCount: 1).ranges,
            [wrappedLayout.layerOffsets[1]..<wrappedLayout.count, 0..<wrappedLayout.layerOffsets[1]])
    }

    /// Every range a replica reports final holds, when reported, the values it has when the
    /// pass ends: in one block and in several (each range then scaled as it finishes), with
    /// masks and sample weights, the LSTM's and GRU's recurrent kernels before their layers end,
    /// and nothing inside a Bidirectional before it ends.
    func testAReplicaReportsOnlyGradientsThatNoLaterPartOfThePassChanges() throws {
        let wrapped = Sequential(seed: 7) {
            Input(shape: [6, 4]); Masking(); Bidirectional(GRU(5, returnSequences: true)); LSTM(4); Dense(2)
        }
        try wrapped.compile(optimizer: Adam(), loss: .meanSquaredError)
        try wrapped.build()
        for (model, rows) in [(try stacked(), 40), (try stacked(), 2 * Replica.blockRows + 30), (wrapped, 40)] {
            var x = randomTensor([2 * rows, 6, 4], seed: 5)
            for row in 0..<(2 * rows) where row % 3 == 0 {
                for index in (row * 24 + 12)..<(row * 24 + 24) { x.scalars[index] = 0 }
            }
            let weights = try Tensor(shape: [2 * rows], scalars: (0..<(2 * rows)).map { Float($0 % 4) })
            let dataset = try InMemoryDataset(x: x, y: randomTensor([2 * rows, 2], seed: 6), sampleWeight: weights)
            let workspace = model.makeWorkspace(dataset, weightsPerSample: 1)
            try workspace.load(dataset, rows: ArraySlice(0..<(2 * rows)))
            let layout = try ShardLayout(Parallelism(fixedShards: 2), batch: 2 * rows, stateful: false)
            let engine = try TrainingEngine(model: model, layout: layout, averaging: .gradients)
            defer { engine.finish(completed: true) }
            let replica = engine.replicas.replicas[1], count = replica.parameterCount
            var reports: [(offset: Int, values: [Float])] = []
            replica.gradientsFinished = { offset in
                reports.append((offset, Array(UnsafeBufferPointer(start: replica.gradients + offset, count: count - offset))))
            }
            _ = try engine.trainStep(workspace, batch: 2 * rows, update: false)
            let offsets = reports.map(\.offset), what = "\(model.layers.map(\.typeName)), \(rows) rows"
            XCTAssertEqual(offsets, offsets.sorted(by: >), "\(what): the indices fall")
            XCTAssertEqual(offsets.last, 0)
            let store = model.parameterStore.layout
            for kernel in store.variables where kernel.name == "recurrent_kernel" {
                let wrapper = model.layers[kernel.layer] is Bidirectional
                XCTAssertEqual(offsets.contains(kernel.range.lowerBound), !wrapper, "\(what): layer \(kernel.layer)")
            }
            let final = reports.last!.values
            for report in reports {
                XCTAssertEqual(
                    report.values.map(\.bitPattern), final[report.offset...].map(\.bitPattern), "\(what), from \(report.offset)")
            }
        }
    }
}
