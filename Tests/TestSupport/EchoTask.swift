import Loom

/// The echo task of the stateful tests: each of `rows` sequences of `steps` uniform values is
/// fed one value per batch (batch k holds value k of every row, so samples are laid out
/// batch-major and batches must stay in order), and the target is the value one batch back
/// (0.5 at the first). Learnable only by a model that carries row i's state from one batch to
/// the next.
public enum EchoTask {
    /// x `(rows · steps, 1, 1)` and y `(rows · steps, 1)`, from `seed`.
    public static func data(rows: Int, steps: Int, seed: UInt64) -> (x: Tensor, y: Tensor) {
        var generator = SeededGenerator(seed: seed)
        let series = (0..<(rows * steps)).map { _ in Float(generator.uniform()) }
        var x = Tensor(shape: [rows * steps, 1, 1]), y = Tensor(shape: [rows * steps, 1])
        for k in 0..<steps {
            for r in 0..<rows {
                x[k * rows + r, 0, 0] = series[r * steps + k]
                y[k * rows + r, 0] = k > 0 ? series[r * steps + k - 1] : 0.5
            }
        }
        return (x, y)
    }
}
