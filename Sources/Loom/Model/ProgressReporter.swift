import Foundation

/// Prints Keras 3's progress line for each epoch of `fit`:
///
///     Epoch 3/10
///     32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.0213 - mae: 0.1120 - val_loss: 0.0198 - val_mae: 0.1087
///
/// With `verbose: 1` on a terminal the bar also moves during the epoch (redrawn at most ten
/// times a second); `verbose: 2` prints the finished line only, as Keras does.
struct ProgressReporter {
    let verbose: Int
    let epochs: Int
    private let live: Bool
    private var lastDraw = DispatchTime.now()

    init(verbose: Int, epochs: Int) {
        self.verbose = verbose
        self.epochs = epochs
        live = verbose == 1 && isatty(STDOUT_FILENO) != 0
    }

    func epochStarted(_ epoch: Int) {
        guard verbose > 0 else { return }
        print("Epoch \(epoch + 1)/\(epochs)")
    }

    mutating func batchEnded(_ step: Int, of steps: Int, seconds: Double) {
        guard live, lastDraw.secondsElapsed >= 0.1 else { return }
        lastDraw = DispatchTime.now()
        print("\r" + line(step, of: steps, seconds: seconds, logs: []), terminator: "")
        fflush(nil)  // all C streams: Swift 6 cannot name the global `stdout` safely
    }

    func epochEnded(_ epoch: Int, steps: Int, seconds: Double, logs: [(String, Double)]) {
        guard verbose > 0 else { return }
        print((live ? "\r" : "") + line(steps, of: steps, seconds: seconds, logs: logs))
    }

    private func line(_ step: Int, of steps: Int, seconds: Double, logs: [(String, Double)]) -> String {
        let filled = steps > 0 ? 20 * step / steps : 20
        let bar = String(repeating: "━", count: filled) + String(repeating: " ", count: 20 - filled)
        let perStep = seconds / Double(max(step, 1))
        let stepText =
            perStep >= 1
            ? String(format: "%.0fs/step", perStep)
            : perStep >= 1e-3
                ? String(format: "%.0fms/step", perStep * 1e3)
                : String(format: "%.0fus/step", perStep * 1e6)
        let values = logs.map { " - \($0.0): " + String(format: "%.4f", $0.1) }.joined()
        return "\(step)/\(steps) \(bar) \(Int(seconds.rounded()))s \(stepText)\(values)"
    }
}
