/// The checks and conversions of Keras's `sample_weight` and `class_weight`.
public enum SampleWeights {
    /// Throws, naming the sample, for a weight that is negative or not finite among `rows`'
    /// weights (`perSample` each, from `weights`).
    public static func check(_ weights: UnsafePointer<Float>, rows: ArraySlice<Int>, perSample: Int) throws {
        for (k, row) in rows.enumerated() {
            for i in 0..<perSample {
                let w = weights[k * perSample + i]
                guard w.isFinite, w >= 0 else {
                    throw LoomError.invalidArgument(
                        "sample weight \(w) at sample \(row)\(perSample > 1 ? ", step \(i)" : ""): weights must be finite and not negative")
                }
            }
        }
    }

    /// Keras's `class_weight` as sample weights: each of `rows` targets (`width` values a row,
    /// one-hot or a probability, or one class index or 0/1 label) weighs `classWeights[its
    /// class]`, 1 for a class not listed. The class is the largest value's index for a row of
    /// two or more values, else the value rounded half to even (NumPy's `round`).
    static func fromClasses(
        _ classWeights: [Int: Float], targets: UnsafePointer<Float>, rows: Int, width: Int,
        into weights: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = targets + r * width
            var label = 0
            if width > 1 {
                for j in 1..<width where row[j] > row[label] { label = j }
            } else {
                // A label beyond Int's range names no class: weight 1.
                label = Int(exactly: row[0].rounded(.toNearestOrEven)) ?? Int.min
            }
            weights[r] = classWeights[label] ?? 1
        }
    }
}
