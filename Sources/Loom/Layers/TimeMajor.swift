/// Moves sequences between the batch-major layout layers exchange, `(B, T, F)`, and the
/// time-major layout the recurrent layers compute in, `(T, B, F)`, where one timestep of the
/// whole batch is a contiguous block. Step `s` of the time-major copy is timestep `s`, or
/// `T − 1 − s` for a layer that reads the sequence backwards. With an `order`
/// (`PaddingOrder.rows`), time-major row `i` is batch row `order[i]`.
enum TimeMajor {
    /// xT (T, B, F) from x (B, T, F).
    static func transpose(
        _ x: UnsafePointer<Float>, into xT: UnsafeMutablePointer<Float>, batch B: Int, steps T: Int, width F: Int,
        reversed: Bool, order: [Int]? = nil
    ) {
        forEachRow(batch: B, steps: T, width: F, reversed: reversed, order: order) { batchMajor, timeMajor in
            copyRow(x + batchMajor, to: xT + timeMajor, count: F)
        }
    }

    /// x (B, T, F) from xT (T, B, F): the inverse of `transpose`.
    static func untranspose(
        _ xT: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, batch B: Int, steps T: Int, width F: Int,
        reversed: Bool, order: [Int]? = nil
    ) {
        forEachRow(batch: B, steps: T, width: F, reversed: reversed, order: order) { batchMajor, timeMajor in
            copyRow(xT + timeMajor, to: x + batchMajor, count: F)
        }
    }

    /// Copies a row of `count` floats. The rows are short (a step's features or units): below
    /// 32 floats a call to `memmove` for each costs more than the copy, so they move in
    /// (baseline-width) vector registers here; longer ones go to `memmove`, which uses the
    /// CPU's widest.
    @inline(__always)
    static func copyRow(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        guard count < 32 else { return target.update(from: source, count: count) }
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target)
        var j = 0
        while j + 16 <= count {
            let lanes = from.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self)
            to.storeBytes(of: lanes, toByteOffset: 4 * j, as: SIMD16<Float>.self)
            j += 16
        }
        while j + 4 <= count {
            let lanes = from.loadUnaligned(fromByteOffset: 4 * j, as: SIMD4<Float>.self)
            to.storeBytes(of: lanes, toByteOffset: 4 * j, as: SIMD4<Float>.self)
            j += 4
        }
        while j < count {
            target[j] = source[j]
            j += 1
        }
    }

    /// The offsets of every row (b, t) in both layouts: `(b·T + t)·F` and `(s·B + i)·F`, b = order[i].
    @inline(__always)
    private static func forEachRow(
        batch B: Int, steps T: Int, width F: Int, reversed: Bool, order: [Int]?, _ body: (Int, Int) -> Void
    ) {
        for i in 0..<B {
            let b = order?[i] ?? i
            for t in 0..<T { body((b * T + t) * F, ((reversed ? T - 1 - t : t) * B + i) * F) }
        }
    }

    /// A recurrent layer's output from its states `hidden (T+1, B, U)` (`hidden[0]` the
    /// initial state): the sequence `(B, T, U)` in processing order, or the last state `(B, U)`.
    static func output(
        hidden h: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch B: Int, steps T: Int, units U: Int,
        sequences: Bool, order: [Int]? = nil
    ) {
        if sequences {
            untranspose(h + B * U, into: y, batch: B, steps: T, width: U, reversed: false, order: order)
        } else if let order {
            for i in 0..<B { (y + order[i] * U).update(from: h + (T * B + i) * U, count: U) }
        } else {
            y.update(from: h + T * B * U, count: B * U)
        }
    }

    /// dh (B, U) += dL/dh at step `t` from the output gradient `dy`: row t of the sequence,
    /// or the whole `dy` at the last step when the layer returns its last output only.
    static func addOutputGradient(
        _ dy: UnsafePointer<Float>, step t: Int, into dh: UnsafeMutablePointer<Float>, batch B: Int, steps T: Int,
        units U: Int, sequences: Bool, order: [Int]? = nil
    ) {
        if sequences {
            for i in 0..<B {
                let source = dy + ((order?[i] ?? i) * T + t) * U, target = dh + i * U
                for j in 0..<U { target[j] += source[j] }
            }
        } else if t == T - 1 {
            for i in 0..<B {
                let source = dy + (order?[i] ?? i) * U, target = dh + i * U
                for j in 0..<U { target[j] += source[j] }
            }
        }
    }
}
