import CHDF5

/// Which chunks of a chunked dataset hold data, for a dataset some of whose chunks were
/// never written (they read as the fill value): reads check the chunks their rows touch,
/// each chunk once. Datasets whose every chunk is allocated need none (`make` returns nil).
/// Used under the HDF5 lock.
final class HDF5ChunkMap {
    /// The dataset's shape and its chunks' shape (same rank).
    private let shape: [Int]
    private let chunk: [Int]
    /// Chunks along the first axis found written (every chunk of that row band).
    private var written = Set<Int>()

    private init(shape: [Int], chunk: [Int]) {
        self.shape = shape
        self.chunk = chunk
    }

    /// libhdf5 could not tell a dataset's chunks.
    struct Uninspectable: Error {}

    /// The map of `dataset` (of `shape`), nil when it is not chunked or every chunk is
    /// allocated.
    static func make(_ dataset: hid_t, shape: [Int]) throws -> HDF5ChunkMap? {
        let creation = H5Dget_create_plist(dataset)
        defer { H5Pclose(creation) }
        guard H5Pget_layout(creation) == H5D_CHUNKED, !shape.isEmpty else { return nil }
        var dims = [hsize_t](repeating: 0, count: shape.count)
        guard H5Pget_chunk(creation, Int32(shape.count), &dims) == Int32(shape.count) else { throw Uninspectable() }
        let chunk = dims.map { max(Int($0), 1) }
        var total: Double = 1
        for (extent, size) in zip(shape, chunk) { total *= Double((extent + size - 1) / size) }
        var allocated: hsize_t = 0
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        guard H5Dget_num_chunks(dataset, space, &allocated) >= 0 else { throw Uninspectable() }
        return Double(allocated) >= total ? nil : HDF5ChunkMap(shape: shape, chunk: chunk)
    }

    /// The first rows among `ranges` (of the first axis) that lie in a chunk never written,
    /// nil when all of them hold data.
    func unwrittenRows(_ ranges: [Range<Int>], in dataset: hid_t) -> Range<Int>? {
        for range in ranges where !range.isEmpty {
            for band in (range.lowerBound / chunk[0])...((range.upperBound - 1) / chunk[0]) where !written.contains(band) {
                guard bandIsWritten(band, in: dataset) else {
                    return (band * chunk[0])..<min((band + 1) * chunk[0], shape[0])
                }
                written.insert(band)
            }
        }
        return nil
    }

    /// Whether every chunk of the row band `band` is allocated.
    private func bandIsWritten(_ band: Int, in dataset: hid_t) -> Bool {
        let counts = zip(shape, chunk).dropFirst().map { extent, size in (extent + size - 1) / size }
        var index = [Int](repeating: 0, count: counts.count)
        while true {
            var offset = [hsize_t(band * chunk[0])] + zip(index, chunk.dropFirst()).map { hsize_t($0 * $1) }
            var mask: UInt32 = 0, address: haddr_t = 0, size: hsize_t = 0
            guard H5Dget_chunk_info_by_coord(dataset, &offset, &mask, &address, &size) >= 0, address != haddr_t.max else {
                return false
            }
            // The next chunk of the band, the last axis fastest.
            var axis = counts.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < counts[axis] { break }
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return true }
        }
    }
}
