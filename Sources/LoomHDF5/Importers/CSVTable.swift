import CSV
import Foundation
import Loom

/// A CSV file read into fields by yaslab's CSV.swift (RFC 4180: quoted fields with
/// delimiters, quotes and line breaks inside, CRLF or LF line ends, a UTF-8 byte-order mark),
/// streamed from the file. Fields are trimmed of surrounding spaces; empty lines are skipped;
/// every data row must have the header's (or the first row's) number of fields.
struct CSVTable {
    let header: [String]?
    let rows: [[String]]
    /// The 1-based line number each data row starts on, for error messages.
    let lineNumbers: [Int]

    init(path: String, format: CSVFormat = CSVFormat()) throws {
        if let problem = InputFile.problem(at: path) { throw HDF5Error(file: path, problem) }
        guard let stream = InputStream(fileAtPath: path) else { throw HDF5Error(file: path, "cannot be opened") }
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: stream, hasHeaderRow: false, trimFields: true, delimiter: format.delimiter)
        } catch {
            throw HDF5Error(file: path, "cannot be read (\(error))")
        }
        var lines: [(Int, [String])] = []
        var line = 1
        while let fields = reader.next() {
            let start = line
            line += 1 + fields.reduce(0) { $0 + $1.utf8.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
            if fields.count == 1 && fields[0].isEmpty { continue }
            lines.append((start, fields))
        }
        switch reader.error {
        // The library reports the end of a file it reads to the last byte this way.
        case nil, CSVError.cannotReadFile?: break
        case CSVError.unicodeDecoding?: throw HDF5Error(file: path, "is not UTF-8 text (line \(lines.last?.0 ?? 1))")
        case let error?: throw HDF5Error(file: path, "cannot be read at line \(line) (\(error))")
        }
        guard let first = lines.first else { throw HDF5Error(file: path, "is empty") }
        let hasHeader =
            switch format.header {
            case .detect: first.1.contains { Double($0) == nil }
            case .present: true
            case .absent: false
            }
        header = hasHeader ? first.1 : nil
        let data = hasHeader ? Array(lines.dropFirst()) : lines
        for (number, fields) in data where fields.count != first.1.count {
            throw HDF5Error(file: path, "line \(number) has \(fields.count) fields, expected \(first.1.count)")
        }
        rows = data.map(\.1)
        lineNumbers = data.map(\.0)
    }

    var columnCount: Int { header?.count ?? rows.first?.count ?? 0 }

    func name(of column: Int) -> String { header?[column] ?? String(column) }

    /// The index of the column `name`: a header name, else a 0-based index (a header name may
    /// hold the delimiter that separates names on the command line).
    func column(named name: String, file: String) throws -> Int {
        if let index = header?.firstIndex(of: name) { return index }
        if let index = Int(name), (0..<columnCount).contains(index) { return index }
        let known = header.map { "columns: " + $0.joined(separator: ", ") } ?? "\(columnCount) columns, 0-based"
        throw HDF5Error(file: file, "has no column '\(name)' (\(known))")
    }

    /// The indices of the columns `names` (as `column(named:file:)`), refusing one named twice
    /// (by name or index) among the `role` ("feature columns", "target columns").
    func columns(named names: [String], file: String, role: String) throws -> [Int] {
        let indices = try names.map { try column(named: $0, file: file) }
        for (index, column) in indices.enumerated() where indices[..<index].contains(column) {
            throw HDF5Error(file: file, "the \(role) name column '\(name(of: column))' twice")
        }
        return indices
    }

    /// Columns with a number in any data row: the columns imported by default. A column of
    /// text (an id, a date) is left out; one with a number in some rows and a missing or
    /// unreadable value in others is kept, so that `numbers` refuses that value by line
    /// rather than the column being dropped unseen.
    var numericColumns: [Int] {
        (0..<columnCount).filter { column in rows.contains { Double($0[column]) != nil } }
    }

    /// A field as an error message quotes it: whole when short, else its start (a field
    /// runs to the end of the file after a quote left open).
    static func quoted(_ field: String) -> String {
        let lines = field.split(separator: "\n", omittingEmptySubsequences: false).count
        guard field.count > 40 || lines > 1 else { return "'\(field)'" }
        let start = field.prefix(40).replacingOccurrences(of: "\n", with: "\\n")
        return "'\(start)…' (\(field.count) characters"
            + (lines > 1 ? " over \(lines) lines: is a quote left open?)" : ")")
    }

    /// The values of `columns`, refusing a field that is not a finite number or lies beyond
    /// Float32's range (it would be stored as Inf): the first such field by line, then column.
    func numbers(columns: [Int], file: String) throws -> [Int: [Double]] {
        var result = Dictionary(uniqueKeysWithValues: columns.map { ($0, [Double]()) })
        for row in rows.indices {
            for column in columns {
                guard let value = Double(rows[row][column]), value.isFinite else {
                    throw HDF5Error(
                        file: file,
                        "line \(lineNumbers[row]), column '\(name(of: column))': "
                            + "\(Self.quoted(rows[row][column])) is not a finite number")
                }
                guard Float(value).isFinite else {
                    throw HDF5Error(
                        file: file,
                        "line \(lineNumbers[row]), column '\(name(of: column))': "
                            + "\(Self.quoted(rows[row][column])) is beyond float32's range (±3.4e38); Loom stores float32")
                }
                result[column]!.append(value)
            }
        }
        return result
    }
}
