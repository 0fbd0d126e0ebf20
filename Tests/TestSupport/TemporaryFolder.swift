import Foundation

/// A fresh temporary folder per test (XCTest makes one test object per test method), removed
/// when the test object goes away.
public final class TemporaryFolder {
    /// The folder, under the system's temporary directory.
    public let url: URL

    /// Creates a new, empty folder.
    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
