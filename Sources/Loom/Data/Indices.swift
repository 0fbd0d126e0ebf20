/// Indices held as Float (an `Embedding`'s inputs, sparse categorical targets), checked before
/// they are used to index anything.
enum Indices {
    /// The first value of `rows`' values (`width` each, from `values`) that is not a whole
    /// number in `0..<limit`: its sample number, position in the sample and value; nil when all are.
    static func firstInvalid(
        _ values: UnsafePointer<Float>, rows: ArraySlice<Int>, width: Int, limit: Int
    ) -> (row: Int, position: Int, value: Float)? {
        for (k, row) in rows.enumerated() {
            for i in 0..<width {
                let value = values[k * width + i]
                guard value >= 0, value < Float(limit), value.rounded(.down) == value else { return (row, i, value) }
            }
        }
        return nil
    }
}
