import Foundation

/// Prints Keras 3's progress line for each epoch of `fit`:
///
///     Epoch 3/10
///     32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.0213 - mae: 0.1120 - val_loss: 0.0198 - val_mae: 0.1087
///
/// With `verbose: 1` on a terminal the bar also moves during the epoch (redrawn at most ten
/// times a second, with the running loss and metrics and the time left). `verbose: 2` prints
/// one line an epoch when it ends, for logs (Keras's `verbose=2` line with the epoch in front):
///
///     Epoch 3/10 - 32/32 - 0s - 2ms/step - loss: 0.0213 - mae: 0.1120 - val_loss: 0.0198 - val_mae: 0.1087
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
        guard verbose == 1 else { return }
        print("Epoch \(epoch + 1)/\(epochs)")
    }

    /// Redraws the live bar; `logs` gives the running loss and metrics (asked only when drawn).
    mutating func batchEnded(_ step: Int, of steps: Int, seconds: Double, logs: () -> [(String, Double)]) {
        guard live, lastDraw.secondsElapsed >= 0.1 else { return }
        lastDraw = DispatchTime.now()
        let left = seconds / Double(max(step, 1)) * Double(steps - step)
        print(
            "\r" + line(step, of: steps, seconds: seconds, logs: logs()) + " - ETA " + ProgressReporter.clock(left) + "\u{1B}[K",
            terminator: "")
        fflush(nil)  // all C streams: Swift 6 cannot name the global `stdout` safely
    }

    func epochEnded(_ epoch: Int, steps: Int, seconds: Double, logs: [(String, Double)]) {
        switch verbose {
        case 1: print((live ? "\r" : "") + line(steps, of: steps, seconds: seconds, logs: logs) + (live ? "\u{1B}[K" : ""))
        case 2:
            let values = logs.map { " - \($0.0): " + String(format: "%.4f", $0.1) }.joined()
            print(
                "Epoch \(epoch + 1)/\(epochs) - \(steps)/\(steps) - \(Int(seconds.rounded()))s - "
                    + ProgressReporter.perStep(seconds / Double(max(steps, 1))) + values)
        default: break
        }
    }

    /// `h:mm:ss`, or `m:ss` under an hour.
    private static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }

    /// Keras's time a step: `2s/step`, `20ms/step` or `500us/step`.
    private static func perStep(_ perStep: Double) -> String {
        perStep >= 1
            ? String(format: "%.0fs/step", perStep)
            : perStep >= 1e-3
                ? String(format: "%.0fms/step", perStep * 1e3)
                : String(format: "%.0fus/step", perStep * 1e6)
    }

    private func line(_ step: Int, of steps: Int, seconds: Double, logs: [(String, Double)]) -> String {
        let filled = steps > 0 ? 20 * step / steps : 20
        let bar = String(repeating: "━", count: filled) + String(repeating: " ", count: 20 - filled)
        let stepText = ProgressReporter.perStep(seconds / Double(max(step, 1)))
        let values = logs.map { " - \($0.0): " + String(format: "%.4f", $0.1) }.joined()
        return "\(step)/\(steps) \(bar) \(Int(seconds.rounded()))s \(stepText)\(values)"
    }
}
