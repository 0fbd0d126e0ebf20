import Foundation
import Loom

/// Reads NumPy `.npy` files (format versions 1–3) of little-endian float32, float64, int32 or
/// int64 in C order, and writes them as HDF5 datasets.
public enum NPYImporter {
    /// Parses one `.npy` file into a tensor of its shape.
    public static func read(_ path: String) throws -> Tensor {
        if let problem = InputFile.problem(at: path) { throw HDF5Error(file: path, problem) }
        guard let data = FileManager.default.contents(atPath: path) else { throw HDF5Error(file: path, "cannot be read") }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw HDF5Error(file: path, "not a NumPy .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw HDF5Error(file: path, "truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw HDF5Error(file: path, ".npy format version \(major) is not supported (1, 2 or 3)")
        }
        guard bytes.count >= headerStart + headerLength else { throw HDF5Error(file: path, "truncated .npy header") }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        let (descr, fortranOrder, shape) = try parseHeader(header, path: path)
        guard !fortranOrder else {
            throw HDF5Error(file: path, "is in Fortran order; save it in C order (numpy.ascontiguousarray) first")
        }
        let width: Int
        switch descr {
        case "<f4", "<i4": width = 4
        case "<f8", "<i8": width = 8
        default:
            throw HDF5Error(
                file: path, "has dtype '\(descr)'; expected little-endian float32, float64, int32 or int64 (<f4, <f8, <i4, <i8)")
        }
        guard let count = Shape.checkedCount(shape), count <= bytes.count else {
            throw HDF5Error(file: path, "has shape \(Shape.describe(shape)), more values than the file holds")
        }
        let start = headerStart + headerLength
        guard bytes.count - start == count * width else {
            throw HDF5Error(
                file: path, "holds \(bytes.count - start) data bytes; shape \(Shape.describe(shape)) of '\(descr)' needs \(count * width)")
        }
        var tensor = Tensor(shape: shape)
        tensor.withUnsafeMutableScalars { out in
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + start
                for i in 0..<count {
                    let p = base + i * width
                    switch descr {
                    case "<f4": out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                    case "<f8": out[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
                    case "<i4": out[i] = Float(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                    default: out[i] = Float(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                    }
                }
            }
        }
        return tensor
    }

    /// Writes `x` (and `y`) `.npy` files as datasets "X" and "y" of a new HDF5 file, after
    /// checking that their sample counts agree and that every value is finite as float32 (a
    /// float64 beyond ±3.4e38 would be stored as Inf).
    public static func run(x xPath: String, y yPath: String?, output: String) throws -> (x: [Int], y: [Int]?) {
        let x = try checkedFinite(read(xPath), path: xPath)
        guard x.rank >= 2 else {
            throw HDF5Error(file: xPath, "has shape \(Shape.describe(x.shape)); X needs (samples, ...) of rank 2 or more")
        }
        let y = try yPath.map { try checkedFinite(read($0), path: $0) }
        if let y, let yPath, y.sampleCount != x.sampleCount {
            throw HDF5Error(file: yPath, "has \(y.sampleCount) samples but \(xPath) has \(x.sampleCount)")
        }
        let file = try HDF5File(path: output, mode: .create)
        try file.write(x, as: "X", compression: 4)
        if let y { try file.write(y, as: "y", compression: 4) }
        try file.close()
        return (x.shape, y?.shape)
    }

    /// `tensor`, refused when it holds no values or a value that is NaN or infinite (naming its index).
    private static func checkedFinite(_ tensor: Tensor, path: String) throws -> Tensor {
        guard tensor.shape.allSatisfy({ $0 > 0 }) else {
            throw HDF5Error(file: path, "has shape \(Shape.describe(tensor.shape)): no values to import")
        }
        guard let flat = tensor.scalars.firstIndex(where: { !$0.isFinite }) else { return tensor }
        var index: [Int] = [], rest = flat
        for extent in tensor.shape.reversed() {
            index.insert(rest % max(extent, 1), at: 0)
            rest /= max(extent, 1)
        }
        throw HDF5Error(
            file: path,
            "element \(Shape.describe(index)) is \(tensor.scalars[flat]) as float32; Loom imports finite numbers only")
    }

    /// Reads `'descr'`, `'fortran_order'` and `'shape'` from the header's Python dict literal.
    private static func parseHeader(_ header: String, path: String) throws -> (String, Bool, [Int]) {
        func value(of key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return header[range.upperBound...].drop { $0 == " " }
        }
        guard let descrText = value(of: "descr"), descrText.first == "'",
            let end = descrText.dropFirst().firstIndex(of: "'")
        else {
            throw HDF5Error(file: path, "the .npy header has no 'descr'")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        let fortran = value(of: "fortran_order")?.hasPrefix("True") ?? false
        guard let shapeText = value(of: "shape"), shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw HDF5Error(file: path, "the .npy header has no 'shape'")
        }
        let shape = try shapeText[shapeText.index(after: shapeText.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { field -> Int in
                guard let n = Int(field.hasSuffix("L") ? String(field.dropLast()) : field), n >= 0 else {
                    throw HDF5Error(file: path, "the .npy header has a bad shape entry '\(field)'")
                }
                return n
            }
        return (descr, fortran, shape)
    }
}
