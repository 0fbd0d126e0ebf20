import Foundation

/// A file Loom reads (a dataset, a model, a CSV or NumPy file to import), checked before it is
/// opened, so that what is wrong is named: a file that is not there, a folder, or one this
/// process may not read. Libraries that open it afterwards (HDF5, the zip reader) would call
/// each of these a damaged file.
package enum InputFile {
    /// What keeps `path` from being read as a file, or nil when it can be.
    package static func problem(at path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let error = errno
            if error == ENOENT || error == ENOTDIR { return "no such file" }
            return "cannot be reached (\(String(cString: strerror(error))))"
        }
        if info.st_mode & S_IFMT == S_IFDIR { return "is a folder, not a file" }
        guard Foundation.access(path, R_OK) == 0 else { return "cannot be read (\(String(cString: strerror(errno))))" }
        return nil
    }
}
