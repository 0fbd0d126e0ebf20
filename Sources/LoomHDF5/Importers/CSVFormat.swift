/// How a CSV file is laid out: its delimiter and whether its first row is a header.
public struct CSVFormat: Sendable, Equatable {
    /// Whether the first row names the columns.
    public enum Header: String, Sendable, CaseIterable {
        /// A header when the first row has a field that is not a number (the default).
        case detect
        /// The first row is a header.
        case present
        /// Every row is data; columns are named by their 0-based index.
        case absent
    }

    /// The character between fields (default `,`; `\t` for TSV, `;` for European CSV).
    public var delimiter: Unicode.Scalar
    /// Whether the first row is a header.
    public var header: Header

    /// Commas, the header detected, unless given.
    public init(delimiter: Unicode.Scalar = ",", header: Header = .detect) {
        self.delimiter = delimiter
        self.header = header
    }
}
