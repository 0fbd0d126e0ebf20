import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

@testable import LoomKeras

/// Every layer kind of `KerasLayerKind` through Keras interchange: its config encoded, decoded
/// and encoded again unchanged, its weights saved under Keras's path and loaded back, and the
/// decoded model predicting as the original. A layer wired into one direction only fails here.
final class KerasLayerKindTests: XCTestCase {
    private let folder = TemporaryFolder()

    /// A small model holding `kind` (exhaustive: a new kind needs its example here).
    private func example(_ kind: KerasLayerKind) -> Sequential {
        switch kind {
        case .dense:
            return Sequential(seed: 1) {
                Input(shape: [4]); Dense(3, activation: .tanh)
            }
        case .lstm:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); LSTM(4, returnSequences: true, goBackwards: true)
            }
        case .gru:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); GRU(4)
            }
        case .simpleRNN:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); SimpleRNN(4, activation: .relu)
            }
        case .bidirectional:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); Bidirectional(LSTM(2), mergeMode: .ave)
            }
        case .timeDistributed:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); TimeDistributed(Dense(2))
            }
        case .repeatVector:
            return Sequential(seed: 1) {
                Input(shape: [3]); RepeatVector(4); LSTM(2)
            }
        case .flatten:
            return Sequential(seed: 1) {
                Input(shape: [3, 4]); Flatten(); Dense(1)
            }
        case .dropout:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); LSTM(3); Dropout(0.25); Dense(1)
            }
        case .embedding:
            return Sequential(seed: 1) {
                Input(shape: [5]); Embedding(inputDim: 7, outputDim: 3); LSTM(2)
            }
        case .conv2D:
            return Sequential(seed: 1) {
                Input(shape: [6, 6, 2]); Conv2D(3, kernelSize: (3, 3), strides: (2, 2), padding: .same)
            }
        case .masking:
            return Sequential(seed: 1) {
                Input(shape: [5, 3]); Masking(maskValue: -1); LSTM(2, returnSequences: true); Dense(1)
            }
        case .maxPooling2D:
            return Sequential(seed: 1) {
                Input(shape: [6, 6, 2]); MaxPooling2D(poolSize: (2, 2)); Flatten()
            }
        }
    }

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
