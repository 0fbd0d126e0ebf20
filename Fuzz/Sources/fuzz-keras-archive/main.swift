import Foundation
import FuzzInput
import Loom
import LoomKeras

// A `.keras` archive (zip of config.json, metadata.json and model.weights.h5): entry sizes,
// the config, the weights file.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    let path = FuzzInput.write(data, size, as: "model.keras")
    FuzzInput.expectingErrors { _ = try Sequential(kerasModel: URL(fileURLWithPath: path)) }
    return 0
}
