/// Helpers for shapes written as `[Int]`, batch first, the way Keras prints them.
public enum Shape {
    /// The number of scalars a tensor of this shape holds.
    @inlinable
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// `count`, or nil when the product overflows `Int` (for sizes that come from files).
    public static func checkedCount(_ shape: [Int]) -> Int? {
        var total = 1
        for dimension in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// `(None, 10, 25)`-style text; `batch` nil prints `None` for a leading batch dimension.
    public static func describe(_ shape: [Int], batch: Int?) -> String {
        let dims = [batch.map(String.init) ?? "None"] + shape.map(String.init)
        return "(" + dims.joined(separator: ", ") + ")"
    }

    /// `(32, 10, 25)`-style text of a full shape; −1, Loom's mark for an unknown batch size,
    /// prints as `None`, as Keras prints it.
    public static func describe(_ shape: [Int]) -> String {
        "(" + shape.map { $0 == -1 ? "None" : String($0) }.joined(separator: ", ") + ")"
    }
}
