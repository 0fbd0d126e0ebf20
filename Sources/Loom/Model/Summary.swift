import Foundation

extension Sequential {
    /// Keras 3's summary table: each layer's name and type, output shape (batch first,
    /// `None` unless fixed) and parameter count, then the totals.
    public func summaryText() throws -> String {
        try build()
        let widths = [33, 24, 15]
        func row(_ cells: [String], _ edge: String, _ separator: String, alignLastRight: Bool = true) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: max(0, widths[i] - 2 - cell.count))
                parts.append(" " + (i == cells.count - 1 && alignLastRight ? padding + cell : cell + padding) + " ")
            }
            return edge + parts.joined(separator: separator) + edge
        }
        func rule(_ left: String, _ fill: String, _ middle: String, _ right: String) -> String {
            left + widths.map { String(repeating: fill, count: $0) }.joined(separator: middle) + right
        }
        var lines = ["Model: \"\(name)\""]
        lines.append(rule("┏", "━", "┳", "┓"))
        lines.append(row(["Layer (type)", "Output Shape", "Param #"], "┃", "┃"))
        lines.append(rule("┡", "━", "╇", "┩"))
        for (index, layer) in layers.enumerated() {
            if index > 0 { lines.append(rule("├", "─", "┼", "┤")) }
            lines.append(
                row(
                    [
                        "\(layer.name) (\(layer.typeName))",
                        Shape.describe(outputShapes[index], batch: batchSize),
                        Sequential.grouped(layer.parameterCount),
                    ], "│", "│"))
        }
        lines.append(rule("└", "─", "┴", "┘"))
        let bytes = Sequential.byteText(parameterCount * 4)
        lines.append(" Total params: \(Sequential.grouped(parameterCount)) (\(bytes))")
        lines.append(" Trainable params: \(Sequential.grouped(parameterCount)) (\(bytes))")
        lines.append(" Non-trainable params: 0 (0.00 B)")
        return lines.joined(separator: "\n")
    }

    /// Prints `summaryText()`, as Keras's `model.summary()`.
    public func summary() throws {
        print(try summaryText())
    }

    /// 1440 → "1,440".
    static func grouped(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }

    /// Keras's `readable_memory_size`: 5804 → "5.67 KB" (powers of 1024).
    static func byteText(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes), index = 0
        while value >= 1024 && index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return String(format: "%.2f ", value) + units[index]
    }
}
