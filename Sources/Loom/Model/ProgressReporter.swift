import Foundation

/// Prints Keras-style progress lines during `fit`:
///
///     Epoch 3/10
///     32/32 - 0s - 2ms/step - loss: 0.0213 - mae: 0.1120 - val_loss: 0.0198 - val_mae: 0.1087
struct ProgressReporter {
    let verbose: Int
    let epochs: Int

    func epochEnded(_ epoch: Int, steps: Int, seconds: Double, logs: [(String, Double)]) {
        guard verbose > 0 else { return }
        let perStep = seconds / Double(max(steps, 1))
        let stepText = perStep >= 1 ? String(format: "%.0fs/step", perStep)
            : perStep >= 1e-3 ? String(format: "%.0fms/step", perStep * 1e3)
            : String(format: "%.0fus/step", perStep * 1e6)
        let values = logs.map { "\($0.0): " + String(format: "%.4f", $0.1) }.joined(separator: " - ")
        print("Epoch \(epoch + 1)/\(epochs)")
        print("\(steps)/\(steps) - \(Int(seconds.rounded()))s - \(stepText) - \(values)")
    }
}
