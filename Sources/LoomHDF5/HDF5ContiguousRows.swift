import CHDF5
import Foundation

/// Where the values of a contiguous dataset of little-endian float32 lie in its file, so that
/// scattered rows can be read with `pread` at their offsets: the bytes HDF5 itself would copy,
/// without the union of row hyperslabs HDF5 builds first (for a shuffled batch of a few
/// thousand rows, building that selection costs several times the read).
///
/// Only a dataset HDF5 stores as one contiguous, whole, in-file block qualifies: not chunked,
/// compact, virtual or external, its storage allocated and inside the file's length, its type
/// exactly the machine's float (any other needs HDF5's conversion). Row `r` is the `rowBytes`
/// bytes at `offset + r * rowBytes` (row-major, the samples axis first), read through the
/// descriptor HDF5 itself reads the file with (`loom_h5f_descriptor`).
struct HDF5ContiguousRows {
    /// The first value's byte offset from the start of the file (a user block included).
    let offset: Int
    /// The bytes of one row (all axes after the first).
    let rowBytes: Int

    /// The placement of `dataset` (of `shape`) in a file of `fileBytes` bytes, or nil when it
    /// does not qualify (see the type's comment). Call under the HDF5 lock.
    static func locate(_ dataset: hid_t, shape: [Int], fileBytes: Int) -> HDF5ContiguousRows? {
        guard let rows = shape.first, rows > 0 else { return nil }
        let creation = H5Dget_create_plist(dataset)
        defer { H5Pclose(creation) }
        guard H5Pget_layout(creation) == H5D_CONTIGUOUS, H5Pget_external_count(creation) == 0 else { return nil }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        guard H5Tequal(type, loom_h5t_native_float()) > 0 else { return nil }
        let offset = H5Dget_offset(dataset)
        guard offset != loom_haddr_undef(), let start = Int(exactly: offset) else { return nil }
        let rowBytes = 4 * shape.dropFirst().reduce(1, *)
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflow, Int(exactly: H5Dget_storage_size(dataset)) == bytes, start <= fileBytes - bytes else { return nil }
        return HDF5ContiguousRows(offset: start, rowBytes: rowBytes)
    }

    /// Reads the rows of `ranges`, one after another, into `buffer` through `descriptor`.
    /// Throws `failure(reason)` when the file ends early or a read fails.
    func read(
        _ ranges: [Range<Int>], from descriptor: Int32, into buffer: UnsafeMutablePointer<Float>, failure: (String) -> Error
    ) throws {
        var destination = UnsafeMutableRawPointer(buffer)
        for range in ranges {
            var position = offset + range.lowerBound * rowBytes
            var remaining = range.count * rowBytes
            while remaining > 0 {
                let count = pread(descriptor, destination, remaining, off_t(position))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    throw failure(count == 0 ? "the file ends early: it may be truncated or damaged" : String(cString: strerror(errno)))
                }
                destination += count
                position += count
                remaining -= count
            }
        }
    }
}
