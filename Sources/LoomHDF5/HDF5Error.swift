/// What went wrong with an HDF5 file, always naming the file (and the dataset, when one is
/// involved) and what was expected.
public struct HDF5Error: Error, Equatable, CustomStringConvertible {
    /// The path of the file, as given.
    public let file: String
    /// The dataset involved, if any ("X", "y", "layers/lstm/vars/0").
    public let dataset: String?
    /// What is wrong and what was expected.
    public let message: String

    /// An error about `file` (and `dataset`), described by `message`.
    public init(file: String, dataset: String? = nil, _ message: String) {
        self.file = file
        self.dataset = dataset
        self.message = message
    }

    /// "path, dataset 'X': message", or "path: message" when no dataset is involved.
    public var description: String {
        "\(file)" + (dataset.map { ", dataset '\($0)'" } ?? "") + ": \(message)"
    }
}
