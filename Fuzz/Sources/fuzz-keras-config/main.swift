import Foundation
import FuzzInput
import Loom
import LoomKeras

// A Keras model config (`model.to_json()`, Keras 2 or 3), decoded into a model and built.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    let path = FuzzInput.write(data, size, as: "model.json")
    FuzzInput.expectingErrors {
        let model = try Sequential(kerasModel: URL(fileURLWithPath: path))
        try model.build()
    }
    return 0
}
