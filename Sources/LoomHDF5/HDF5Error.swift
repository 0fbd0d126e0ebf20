/// What went wrong with an HDF5 file, always naming the file (and the dataset, when one is
/// involved) and what was expected.
public struct HDF5Error: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let dataset: String?
    public let message: String

    public init(file: String, dataset: String? = nil, _ message: String) {
        self.file = file
        self.dataset = dataset
        self.message = message
    }

    public var description: String {
        "\(file)" + (dataset.map { ", dataset '\($0)'" } ?? "") + ": \(message)"
    }
}
