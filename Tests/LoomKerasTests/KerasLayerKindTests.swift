import Foundation
import LoomHDF5
import TestSupport
import XCTest

@testable import Loom
@testable import LoomKeras

/// Every layer kind of `KerasLayerKind` through Keras interchange: its config encoded, decoded
/// and encoded again unchanged, its weights saved under Keras's path and loaded back, and the
/// decoded model predicting as the original. A layer wired into one direction only fails here.
final class KerasLayerKindTests: XCTestCase {
    private let folder = TemporaryFolder()

    /// A small model holding `kind` (its layer's `KerasLayer.kerasExample`).
    private func example(_ kind: KerasLayerKind) -> Sequential { kind.layerType.kerasExample }

    func testEveryKindSurvivesEncodingDecodingAndWeights() throws {
        for kind in KerasLayerKind.allCases {
            let model = example(kind)
            try model.build()
            XCTAssertTrue(model.layers.contains { KerasLayerKind($0) == kind }, "\(kind): the example lacks the layer")
            let json = try model.kerasJSON()
            let config = folder.url.appendingPathComponent("\(kind).json"),
                weights = folder.url.appendingPathComponent("\(kind).weights.h5")
            try model.save(to: config)
            try model.save(to: weights)
            let decoded = try Sequential(kerasModel: config, weights: weights)
            XCTAssertEqual(try decoded.kerasJSON(), json, "\(kind): encode(decode(config)) differs")
            XCTAssertEqual(decoded.layers.map { KerasLayerKind($0) }, model.layers.map { KerasLayerKind($0) }, "\(kind)")
            XCTAssertEqual(try decoded.weights(), try model.weights(), "\(kind): weights")

            let stored = try HDF5File(path: weights.path).datasetNames(under: "layers")
            let group = "layers/" + Sequential.snakeCase(kind.className)
            XCTAssertEqual(stored.count, model.weightCount, "\(kind): \(stored)")
            if model.layers.first(where: { KerasLayerKind($0) == kind })?.parameterCount ?? 0 > 0 {
                XCTAssertTrue(stored.contains { $0.hasPrefix(group + "/") }, "\(kind): nothing under \(group): \(stored)")
            }

            let x = try Tensor(
                shape: [2] + (model.inputShape ?? []),
                scalars: (0..<(2 * Shape.count(model.inputShape ?? []))).map { Float($0 % 3) })
            XCTAssertEqual(try decoded.predict(x).scalars, try model.predict(x).scalars, "\(kind): predictions")
        }
    }

    /// Every kind's example against finite differences (`checkGradients`): the loss in
    /// training mode, the dropout masks reseeded before each evaluation, class indices for an
    /// embedding. A layer wired into the list gets its gradient check with its example.
    func testEveryKindsExampleHasTheGradientsOfFiniteDifferences() throws {
        for kind in KerasLayerKind.allCases {
            let model = example(kind)
            try model.build()
            try model.compile(optimizer: SGD(), loss: .meanSquaredError)
            XCTAssertGreaterThan(model.parameterCount, 0, "\(kind): an example without weights checks no gradient")
            let inputShape = [2] + (model.inputShape ?? [])
            // Inputs that put no pooling window's two largest values and no relu's input within
            // the check's ε of a tie or of 0 (most seeds; 1 and 3 do not): no finite difference
            // can follow a change of maximum or of the relu's side.
            var x = randomTensor(inputShape, seed: 2)
            if let embedding = model.layers.first as? Embedding {
                x = try Tensor(
                    shape: inputShape, scalars: (0..<Shape.count(inputShape)).map { Float($0 * 5 % embedding.inputDim) })
            }
            let y = randomTensor([2] + (model.outputShape ?? []), seed: 2)
            let randomized = model.layers.compactMap { $0 as? any RandomizedLayer }
            try checkGradients(model, x: x, y: y, lossInTraining: true) { for layer in randomized { layer.seed(99) } }
        }
    }

    /// A class name the list does not hold is refused, naming every class Loom reads.
    func testAnUnknownClassNamesTheKnownOnes() {
        var problem = ""
        do {
            _ = try KerasLayerDecoder(keras2: false).layer(["class_name": "Conv3D", "config": ["name": "c"]])
        } catch let error as KerasConfigProblem {
            problem = error.message
        } catch {
            XCTFail("\(error)")
        }
        XCTAssertEqual(problem, "layer 'c' is a Conv3D, which Loom does not have (it has \(KerasLayerKind.classNames))")
    }
}

extension Sequential {
    /// How many weight tensors the model holds.
    fileprivate var weightCount: Int { layers.reduce(0) { $0 + $1.parameterSpecs.count } }
}
