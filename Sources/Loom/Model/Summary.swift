import Foundation

extension Sequential {
    /// Keras 3's summary table: each layer's name and type, output shape (batch first,
    /// `None` unless fixed) and parameter count, then the totals.
    public func summaryText() throws -> String {
        try build()
        let widths = [33, 24, 15]
        // A cell too long for its column wraps onto more lines, at spaces where it can, as Keras's table.
        func row(_ cells: [String], _ edge: String, _ separator: String) -> String {
            let wrapped = cells.enumerated().map { Sequential.wrapped($1, width: widths[$0] - 2) }
            let height = wrapped.map(\.count).max() ?? 1
            return (0..<height).map { line in
                let parts = wrapped.enumerated().map { i, lines -> String in
                    let cell = line < lines.count ? lines[line] : ""
                    let padding = String(repeating: " ", count: max(0, widths[i] - 2 - cell.count))
                    return " " + (i == cells.count - 1 ? padding + cell : cell + padding) + " "
                }
                return edge + parts.joined(separator: separator) + edge
            }.joined(separator: "\n")
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
        let bytes = parameterCount * 4
        let frozen = layers.filter { frozenLayers.contains($0.name) }.reduce(0) { $0 + $1.parameterCount }
        // Keras counts a built optimizer's variables in the total: float32, but the update count int64.
        let optimizerCount = kerasOptimizerParameterCount
        let optimizerBytes = optimizerCount.map { 4 * $0 + 4 } ?? 0
        lines.append(
            " Total params: \(Sequential.grouped(parameterCount + (optimizerCount ?? 0))) (\(Sequential.byteText(bytes + optimizerBytes)))")
        lines.append(
            " Trainable params: \(Sequential.grouped(parameterCount - frozen)) (\(Sequential.byteText(bytes - 4 * frozen)))")
        lines.append(" Non-trainable params: \(Sequential.grouped(frozen)) (\(Sequential.byteText(4 * frozen)))")
        if let optimizerCount {
            lines.append(" Optimizer params: \(Sequential.grouped(optimizerCount)) (\(Sequential.byteText(optimizerBytes)))")
        }
        return lines.joined(separator: "\n")
    }

    /// `text` in lines of at most `width` characters, broken after the last space that fits
    /// (a word longer than a line is cut).
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], rest = Substring(text)
        while rest.count > width {
            let head = rest.prefix(width + 1)
            let cut = head.lastIndex(of: " ").map { head.distance(from: head.startIndex, to: $0) } ?? width
            lines.append(String(rest.prefix(max(cut, 1))).trimmingCharacters(in: .whitespaces))
            rest = rest.dropFirst(max(cut, 1)).drop { $0 == " " }
        }
        return lines + [String(rest)]
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
