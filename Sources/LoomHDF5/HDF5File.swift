import CHDF5
import Foundation
import Loom

/// The element type of an HDF5 dataset, as far as Loom reads it. Every numeric type is read
/// as Float32 (HDF5 converts while reading); anything else is refused by name.
public enum HDF5ElementType: Equatable, Sendable, CustomStringConvertible {
    /// An IEEE float of `bits` bits ("float32", "float64").
    case float(bits: Int)
    /// An integer of `bits` bits, signed or not ("int64", "uint8").
    case integer(bits: Int, signed: Bool)
    /// A class Loom cannot read as numbers: "string", "compound", "enum", ...
    case unsupported(String)

    /// The NumPy-style name ("float32", "int64", "uint8"), or the unsupported class's name.
    public var description: String {
        switch self {
        case let .float(bits): return "float\(bits)"
        case let .integer(bits, signed): return (signed ? "int" : "uint") + "\(bits)"
        case let .unsupported(name): return name
        }
    }
}

/// An open HDF5 file: named n-dimensional datasets (row-major, first axis the samples) read
/// and written as Float32, whole or by rows, and attributes on the file or a dataset.
///
/// Every call takes the process-wide HDF5 lock, so one file may be used from several threads
/// (the streaming dataset prefetches on a background queue).
public final class HDF5File {
    /// How `init(path:mode:)` opens the file.
    public enum Mode: Sendable {
        /// An existing file, read only.
        case read
        /// An existing file, read and write.
        case readWrite
        /// A new file, replacing any file at the path.
        case create
    }

    /// The path as given, used in every error message.
    public let path: String
    /// Whether datasets may take their values from other files (external links, virtual
    /// datasets, external raw storage); false by default: a dataset Loom reads is refused
    /// unless its file holds it (see `checkStorage`).
    public let followsOtherFiles: Bool
    private let id: hid_t
    /// How objects are opened: refusing external links unless `followsOtherFiles`.
    private let access: HDF5LinkAccess
    /// The datasets `checkStorage` has passed (written under the HDF5 lock).
    private var checkedDatasets = Set<String>()
    /// The chunked datasets `checkStorage` found partly written, by name: their reads check
    /// the chunks they touch (under the HDF5 lock).
    private var chunkMaps: [String: HDF5ChunkMap] = [:]
    /// The descriptor HDF5 reads the file through, when rows may be read past HDF5: the file
    /// opened read only, with its datasets its own (`followsOtherFiles` off: a link into
    /// another file would place the rows there) and HDF5's default (sec2) driver; else nil.
    /// Valid while the file is open (reads after `close` fail in `readableInfo`).
    private let preadDescriptor: Int32?
    /// Each dataset's contiguous placement, nil where it has none, once looked up (under the
    /// HDF5 lock).
    private var contiguousRows: [String: HDF5ContiguousRows?] = [:]

    /// Opens or creates the file at `path`; throws `HDF5Error` when it is missing, not HDF5,
    /// damaged or locked. `followsOtherFiles` allows datasets that read other files.
    public init(path: String, mode: Mode = .read, followsOtherFiles: Bool = false) throws {
        self.path = path
        self.followsOtherFiles = followsOtherFiles
        access = HDF5Library.locked { HDF5LinkAccess(followsOtherFiles: followsOtherFiles) }
        let id = try HDF5Library.locked {
            if mode == .create {
                let file = H5Fcreate(path, loom_h5f_acc_trunc(), loom_h5p_default(), loom_h5p_default())
                guard file >= 0 else { throw HDF5Error(file: path, "cannot create the file (check the folder exists and is writable)") }
                return file
            }
            if let problem = InputFile.problem(at: path) { throw HDF5Error(file: path, problem) }
            guard H5Fis_hdf5(path) > 0 else { throw HDF5Error(file: path, "not an HDF5 file (no HDF5 signature)") }
            let file = H5Fopen(path, mode == .read ? loom_h5f_acc_rdonly() : loom_h5f_acc_rdwr(), loom_h5p_default())
            guard file >= 0 else {
                throw HDF5Error(
                    file: path,
                    "cannot open the HDF5 file: it may be truncated or damaged, "
                        + "or open for writing in another process (HDF5 locks it)")
            }
            return file
        }
        self.id = id
        let descriptor = mode == .read && !followsOtherFiles ? HDF5Library.locked { loom_h5f_descriptor(id) } : -1
        preadDescriptor = descriptor >= 0 ? descriptor : nil
    }

    /// Closes the file unless `close` did (a file only read needs nothing more; one written
    /// is whole only once `close` returned).
    deinit { HDF5Library.locked { if H5Iis_valid(id) > 0 { _ = H5Fclose(id) } } }

    /// Writes what HDF5 still holds in its caches and closes the file, throwing when that
    /// fails (a full disk): a file written through HDF5 is whole only once this returned (a
    /// dataset's write can succeed into the cache and fail only here). Reads and writes
    /// afterwards throw.
    public func close() throws {
        try HDF5Library.locked {
            contiguousRows = [:]
            guard H5Iis_valid(id) > 0 else { return }
            guard H5Fflush(id, H5F_SCOPE_LOCAL) >= 0, H5Fclose(id) >= 0 else {
                throw HDF5Error(file: path, "its last changes could not be written; is the disk full?")
            }
        }
    }

    // MARK: what is in the file

    /// Whether a dataset or group exists at `name` (a path such as "X" or "data/train/X").
    public func contains(_ name: String) -> Bool {
        HDF5Library.locked {
            var prefix = ""
            for component in name.split(separator: "/") {
                prefix += (prefix.isEmpty ? "" : "/") + component
                guard H5Lexists(id, prefix, access.link) > 0 else { return false }
            }
            return !prefix.isEmpty
        }
    }

    /// The names of the objects at the file's root, sorted.
    public func rootNames() -> [String] {
        HDF5Library.locked { linkNames(of: id).sorted() }
    }

    /// The names of the objects in group `group`, sorted; empty when it is not a group.
    public func childNames(of group: String) -> [String] {
        guard contains(group) else { return [] }
        return HDF5Library.locked {
            let handle = H5Gopen2(id, group, access.group)
            guard handle >= 0 else { return [] }
            defer { H5Gclose(handle) }
            return linkNames(of: handle).sorted()
        }
    }

    /// The most levels of groups `datasetNames(under:)` descends, and the most objects it
    /// visits: a file may link a group into itself, and no Keras or Loom file comes near.
    public static let maximumGroupDepth = 32
    /// The most objects (2^20) one `datasetNames(under:)` call visits before it refuses the file.
    public static let maximumVisitedObjects = 1 << 20

    /// The paths of every dataset below `group` ("layers/lstm/cell/vars/0", ...), sorted;
    /// empty when there is no such group. Groups nested more than `maximumGroupDepth` deep,
    /// or more than `maximumVisitedObjects` objects, are refused.
    public func datasetNames(under group: String) throws -> [String] {
        guard contains(group) else { return [] }
        return try HDF5Library.locked {
            var names: [String] = []
            var visited = 0
            func visit(_ name: String, depth: Int) throws {
                visited += 1
                guard visited <= HDF5File.maximumVisitedObjects else {
                    throw HDF5Error(
                        file: path, dataset: group,
                        "holds more than \(HDF5File.maximumVisitedObjects) objects (groups linked into themselves?)")
                }
                try checkLinks(to: name)
                access.reset()
                let object = H5Oopen(id, name, access.link)
                guard object >= 0 else {
                    if access.refusedExternal { throw HDF5Error(file: path, dataset: name, HDF5File.crossesToAnotherFile) }
                    throw HDF5Error(file: path, dataset: name, "cannot be opened (a dangling link?)")
                }
                defer { H5Oclose(object) }
                switch H5Iget_type(object) {
                case H5I_DATASET:
                    names.append(name)
                case H5I_GROUP:
                    guard depth < HDF5File.maximumGroupDepth else {
                        throw HDF5Error(
                            file: path, dataset: name,
                            "nests groups more than \(HDF5File.maximumGroupDepth) deep (a group linked into itself?)")
                    }
                    for child in linkNames(of: object) { try visit(name + "/" + child, depth: depth + 1) }
                default:
                    break
                }
            }
            try visit(group, depth: 0)
            return names.sorted()
        }
    }

    /// The names of the links in the group `group` (the file's root for the file's id), in
    /// HDF5's name order. The caller holds the HDF5 lock.
    private func linkNames(of group: hid_t) -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { return [] }
        return (0..<info.nlinks).compactMap { index -> String? in
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, loom_h5p_default())
            guard length > 0 else { return nil }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, Int(length) + 1, loom_h5p_default())
            return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The shape and element type of dataset `name`.
    public func info(of name: String) throws -> (shape: [Int], elementType: HDF5ElementType) {
        try withDataset(name) { dataset in
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            return (try shape(of: space, dataset: name), HDF5File.elementType(type))
        }
    }

    // MARK: reading

    /// The whole dataset as a tensor of its shape, converted to Float32 (a scalar dataset as
    /// a tensor of shape `[]`).
    public func read(_ name: String) throws -> Tensor {
        let (shape, _) = try readableInfo(name, allowingScalar: true)
        if shape.isEmpty { return try Tensor(shape: [], scalars: [Float(try readScalar(name))]) }
        var tensor = Tensor(shape: shape)
        guard Shape.count(shape) > 0 else { return tensor }
        try tensor.withUnsafeMutableScalars { buffer in
            try readRows(name, shape: shape, start: 0, count: shape[0], into: buffer.baseAddress!)
        }
        return tensor
    }

    /// Rows `range` of the first axis, converted to Float32, into `buffer`
    /// (`range.count × (values per row)` floats).
    public func read(_ name: String, rows range: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        let (shape, _) = try readableInfo(name)
        guard range.lowerBound >= 0, range.upperBound <= (shape.first ?? 0) else {
            throw HDF5Error(file: path, dataset: name, "rows \(range) outside its \(shape.first ?? 0) rows")
        }
        try readRows(name, shape: shape, start: range.lowerBound, count: range.count, into: buffer)
    }

    /// Rows `rows` (ascending, no repeats) of the first axis, converted to Float32, into
    /// `buffer` one after another: from a file open read only, a contiguous float32 dataset's
    /// runs of consecutive rows are read with `pread` at their offsets (`HDF5ContiguousRows`);
    /// any other through unions of hyperslabs (one, unless the dataset is chunked and the rows
    /// lie far apart).
    public func read(_ name: String, sortedRows rows: [Int], into buffer: UnsafeMutablePointer<Float>) throws {
        let (shape, _) = try readableInfo(name)
        guard let first = rows.first, let last = rows.last else { return }
        guard first >= 0, last < shape[0] else {
            throw HDF5Error(file: path, dataset: name, "row \(first < 0 ? first : last) outside its \(shape[0]) rows")
        }
        // Consecutive rows go as one range: fewer hyperslabs for HDF5 to merge.
        var ranges: [Range<Int>] = []
        for row in rows {
            if let last = ranges.last, last.upperBound == row {
                ranges[ranges.count - 1] = last.lowerBound..<(row + 1)
            } else {
                ranges.append(row..<(row + 1))
            }
        }
        if let (placement, descriptor) = try contiguousPlacement(name, shape: shape) {
            try placement.read(ranges, from: descriptor, into: buffer) { reason in
                HDF5Error(file: path, dataset: name, "reading \(rows.count) rows failed: \(reason)")
            }
            return
        }
        // libhdf5 visits every chunk between a selection's first and last rows: in a chunked
        // dataset, rows far apart (a shuffled batch of a large file) are read in groups that
        // span at most `chunksPerRead` chunks' worth of rows, so a read costs what it reads, not the file's size.
        let span = try chunkRows(of: name).map { $0 * HDF5File.chunksPerRead } ?? Int.max
        let rowValues = Shape.count(Array(shape.dropFirst()))
        var start = 0, done = 0
        while start < ranges.count {
            var end = start + 1
            while end < ranges.count, ranges[end].upperBound - ranges[start].lowerBound <= span { end += 1 }
            let group = Array(ranges[start..<end]), count = group.reduce(0) { $0 + $1.count }
            try withRows(name, shape: shape, group) { dataset, memorySpace, fileSpace in
                try checkChunks(name, group, in: dataset)
                guard
                    H5Dread(dataset, loom_h5t_native_float(), memorySpace, fileSpace, loom_h5p_default(), buffer + done * rowValues)
                        >= 0
                else {
                    throw readFailure(name, dataset, "reading \(rows.count) rows failed")
                }
            }
            done += count
            start = end
        }
    }

    /// Where `name`'s rows lie in the file and the descriptor to read them with, when the file
    /// has a `preadDescriptor` and the dataset is stored contiguously as float32
    /// (`HDF5ContiguousRows`); nil otherwise. Looked up once a dataset.
    func contiguousPlacement(_ name: String, shape: [Int]) throws -> (HDF5ContiguousRows, Int32)? {
        guard let descriptor = preadDescriptor else { return nil }
        let placement: HDF5ContiguousRows?
        if let known = HDF5Library.locked({ contiguousRows[name] }) {
            placement = known
        } else {
            var status = stat()
            let fileBytes = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
            placement = try withDataset(name) { HDF5ContiguousRows.locate($0, shape: shape, fileBytes: fileBytes) }
            HDF5Library.locked { contiguousRows[name] = .some(placement) }
        }
        return placement.map { ($0, descriptor) }
    }

    /// The rows of a chunk of dataset `name` (its first axis), or nil when it is not chunked.
    public func chunkRows(of name: String) throws -> Int? { try withDataset(name) { HDF5File.chunkRows(of: $0) } }

    /// The chunks of rows one scattered read may span (see `read(_:sortedRows:into:)`).
    static let chunksPerRead = 64

    /// The rows of a chunk of `dataset` (its first axis), or nil when it is not chunked.
    private static func chunkRows(of dataset: hid_t) -> Int? {
        let creation = H5Dget_create_plist(dataset)
        defer { H5Pclose(creation) }
        guard H5Pget_layout(creation) == H5D_CHUNKED else { return nil }
        var dims = [hsize_t](repeating: 0, count: 32)
        guard H5Pget_chunk(creation, Int32(dims.count), &dims) > 0 else { return nil }
        return max(Int(dims[0]), 1)
    }

    /// The shape after checking the dataset is numeric and readable: its storage
    /// (`checkStorage`) unless `deferringStorage` (the caller checks the shape first and calls
    /// `checkStorage` itself). Its links are checked whenever it is opened (`withDataset`).
    func readableInfo(
        _ name: String, deferringStorage: Bool = false, allowingScalar: Bool = false
    ) throws -> (shape: [Int], elementType: HDF5ElementType) {
        let checked = HDF5Library.locked { checkedDatasets.contains(name) }
        let info = try info(of: name)
        if case let .unsupported(kind) = info.elementType {
            throw HDF5Error(file: path, dataset: name, "holds \(kind) values; Loom reads numbers (float or integer) only")
        }
        guard !info.shape.isEmpty || allowingScalar else { throw HDF5Error(file: path, dataset: name, "is a scalar; expected an array") }
        if !checked && !deferringStorage { try checkStorage(name, shape: info.shape) }
        return info
    }

    /// Refuses, once per dataset, values that are not the file's own: a virtual dataset or
    /// one whose raw data lies in external files (both read other files, at any path the file
    /// names) unless `followsOtherFiles`, and then a virtual dataset whose source file is
    /// missing (it would read as its fill value); and a dataset of `shape` (not empty) none
    /// of whose storage was ever written: HDF5 allocates it on the first write, and a dataset
    /// only declared reads as its fill value everywhere (its file can be a few KB whatever
    /// the shape). External and user-defined links are refused by `withDataset` before.
    func checkStorage(_ name: String, shape: [Int]) throws {
        try HDF5Library.locked {
            guard !checkedDatasets.contains(name) else { return }
            let virtual = try withDataset(name) { dataset in
                let creation = H5Dget_create_plist(dataset)
                defer { H5Pclose(creation) }
                return try checkLayout(of: name, creation: creation)
            }
            if !virtual { try checkWritten(name, shape: shape) }
            checkedDatasets.insert(name)
        }
    }

    /// The advice added to a refusal of another file's data.
    private static let selfContained = "Loom reads only self-contained files"
    /// The refusal of an object whose path crosses a link to another file (through a soft link).
    private static let crossesToAnotherFile = "is reached through a link to another file; \(selfContained)"

    /// Refuses an external link on the path to `name` unless `followsOtherFiles`, and a
    /// user-defined link; a missing component is left for the read to name.
    private func checkLinks(to name: String) throws {
        var prefix = ""
        for component in name.split(separator: "/") {
            prefix += (prefix.isEmpty ? "" : "/") + component
            guard H5Lexists(id, prefix, access.link) > 0 else { return }
            switch loom_h5_link_kind(id, prefix, nil, 0, access.link) {
            case 0: continue
            case 1 where !followsOtherFiles:
                var target = [CChar](repeating: 0, count: 4096)
                _ = loom_h5_link_kind(id, prefix, &target, target.count, access.link)
                let text = HDF5File.text(target)
                throw HDF5Error(
                    file: path, dataset: name,
                    "'\(prefix)' is an external link to another file (\(text.isEmpty ? "unreadable target" : text)); "
                        + HDF5File.selfContained)
            case 1: continue
            case 2:
                throw HDF5Error(file: path, dataset: name, "'\(prefix)' is a user-defined link; \(HDF5File.selfContained)")
            default: throw HDF5Error(file: path, dataset: name, "its link '\(prefix)' cannot be read: the file may be damaged")
            }
        }
    }

    /// Refuses a virtual dataset or external raw storage unless `followsOtherFiles`, and a
    /// virtual dataset's missing source file in any case; returns whether the dataset is virtual.
    private func checkLayout(of name: String, creation: hid_t) throws -> Bool {
        let external = H5Pget_external_count(creation)
        if external != 0 && !followsOtherFiles {
            throw HDF5Error(
                file: path, dataset: name,
                external > 0
                    ? "keeps its values in \(external) external file(s); \(HDF5File.selfContained)"
                    : "its storage cannot be inspected: the file may be damaged")
        }
        guard H5Pget_layout(creation) == H5D_VIRTUAL else { return false }
        guard followsOtherFiles else {
            throw HDF5Error(
                file: path, dataset: name, "is a virtual dataset (its values come from other datasets); \(HDF5File.selfContained)")
        }
        var count = 0
        guard H5Pget_virtual_count(creation, &count) >= 0 else {
            throw HDF5Error(file: path, dataset: name, "its virtual mapping cannot be read: the file may be damaged")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        for index in 0..<count {
            var buffer = [CChar](repeating: 0, count: 4096)
            guard H5Pget_virtual_filename(creation, index, &buffer, buffer.count) >= 0 else {
                throw HDF5Error(file: path, dataset: name, "its virtual mapping cannot be read: the file may be damaged")
            }
            let source = HDF5File.text(buffer)
            buffer = [CChar](repeating: 0, count: 4096)
            guard H5Pget_virtual_dsetname(creation, index, &buffer, buffer.count) >= 0 else {
                throw HDF5Error(file: path, dataset: name, "its virtual mapping cannot be read: the file may be damaged")
            }
            let sourceDataset = HDF5File.text(buffer)
            let resolved = source.hasPrefix("/") || source == "." ? source : folder.appendingPathComponent(source).path
            guard source == "." || FileManager.default.fileExists(atPath: resolved) else {
                throw HDF5Error(
                    file: path, dataset: name,
                    "is a virtual dataset whose source file \(source) is missing: its values would read as the fill value")
            }
            if let problem = HDF5File.virtualSourceProblem(source == "." ? nil : resolved, sourceDataset, in: id) {
                throw HDF5Error(file: path, dataset: name, "is a virtual dataset whose source \(source):\(sourceDataset) \(problem)")
            }
        }
        return true
    }

    /// What makes dataset `name` of the file at `file` (nil: the file `own`) unfit as a
    /// virtual dataset's source, nil when it is fit: missing (it would read as the fill value)
    /// or itself virtual (a chain libhdf5 may follow without end: a virtual dataset mapped
    /// onto itself overflows its stack).
    private static func virtualSourceProblem(_ file: String?, _ name: String, in own: hid_t) -> String? {
        let handle = file.map { H5Fopen($0, loom_h5f_acc_rdonly(), loom_h5p_default()) } ?? own
        guard handle >= 0 else { return "cannot be opened" }
        defer { if file != nil { H5Fclose(handle) } }
        var prefix = ""
        for component in name.split(separator: "/") {
            prefix += "/" + component
            guard loom_h5_link_kind(handle, prefix, nil, 0, loom_h5p_default()) == 0 else {
                return "is missing or reached through a link to another file: its values would read as the fill value"
            }
        }
        let dataset = H5Dopen2(handle, name, loom_h5p_default())
        guard dataset >= 0 else { return "is not a dataset: its values would read as the fill value" }
        defer { H5Dclose(dataset) }
        let creation = H5Dget_create_plist(dataset)
        defer { H5Pclose(creation) }
        return H5Pget_layout(creation) == H5D_VIRTUAL ? "is itself virtual; Loom follows one level of mapping only" : nil
    }

    /// The text C wrote into `buffer`, up to its first NUL.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Refuses a dataset of `shape` (not empty) none of whose storage was ever written.
    /// A chunked dataset some of whose chunks were written gets a map (`HDF5ChunkMap`): its
    /// reads then refuse rows in a chunk never written.
    private func checkWritten(_ name: String, shape: [Int]) throws {
        guard shape.allSatisfy({ $0 > 0 }) else { return }
        let written = try withDataset(name) { dataset in
            var status = H5D_SPACE_STATUS_ERROR
            let uninspectable = HDF5Error(file: path, dataset: name, "its storage cannot be inspected: the file may be damaged")
            guard H5Dget_space_status(dataset, &status) >= 0 else { throw uninspectable }
            do { chunkMaps[name] = try HDF5ChunkMap.make(dataset, shape: shape) } catch { throw uninspectable }
            return status != H5D_SPACE_STATUS_NOT_ALLOCATED
        }
        guard written else {
            throw HDF5Error(
                file: path, dataset: name,
                "declares shape \(Shape.describe(shape)) but holds no data: nothing was ever written to it, "
                    + "so every value would be its fill value")
        }
    }

    /// Refuses rows of `ranges` that lie in a chunk never written (datasets with a chunk map).
    private func checkChunks(_ name: String, _ ranges: [Range<Int>], in dataset: hid_t) throws {
        guard let unwritten = chunkMaps[name]?.unwrittenRows(ranges, in: dataset) else { return }
        throw HDF5Error(
            file: path, dataset: name,
            "rows \(unwritten) lie in a chunk that was never written: they would read as the fill value")
    }

    /// Why a read of `dataset` failed: a filter its chunks were written with that this HDF5
    /// library does not have (zstd, lz4, bitshuffle: plugins that h5py users install with
    /// hdf5plugin), named; else a file truncated or damaged.
    private func readFailure(_ name: String, _ dataset: hid_t, _ what: String) -> HDF5Error {
        let creation = H5Dget_create_plist(dataset)
        defer { if creation >= 0 { H5Pclose(creation) } }
        for index in 0..<max(0, creation >= 0 ? H5Pget_nfilters(creation) : 0) {
            var flags: UInt32 = 0, valueCount = 0, configuration: UInt32 = 0
            var filterName = [CChar](repeating: 0, count: 64)
            let filter = H5Pget_filter2(creation, UInt32(index), &flags, &valueCount, nil, filterName.count, &filterName, &configuration)
            guard filter >= 0, H5Zfilter_avail(filter) <= 0 else { continue }
            let named = String(decoding: filterName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return HDF5Error(
                file: path, dataset: name,
                "\(what): its chunks are compressed with HDF5 filter \(filter)\(named.isEmpty ? "" : " (\(named))"), which this "
                    + "HDF5 library does not have; install the filter's plugin and set HDF5_PLUGIN_PATH to its folder, or "
                    + "rewrite the dataset with gzip or no compression")
        }
        return HDF5Error(file: path, dataset: name, "\(what): the file may be truncated or damaged")
    }

    private func readRows(_ name: String, shape: [Int], start: Int, count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        guard count > 0 else { return }
        try withRows(name, shape: shape, [start..<(start + count)]) { dataset, memorySpace, fileSpace in
            try checkChunks(name, [start..<(start + count)], in: dataset)
            guard H5Dread(dataset, loom_h5t_native_float(), memorySpace, fileSpace, loom_h5p_default(), buffer) >= 0 else {
                throw readFailure(name, dataset, "reading rows \(start)..<\(start + count) failed")
            }
        }
    }

    /// Runs `body` on dataset `name` (of `shape`) with a file space selecting the rows of
    /// `ranges` (ascending, disjoint) of the first axis and a memory space of as many rows,
    /// one after another.
    private func withRows<T>(
        _ name: String, shape: [Int], _ ranges: [Range<Int>],
        _ body: (_ dataset: hid_t, _ memorySpace: hid_t, _ fileSpace: hid_t) throws -> T
    ) throws -> T {
        try withDataset(name) { dataset in
            let fileSpace = H5Dget_space(dataset)
            defer { H5Sclose(fileSpace) }
            var offset = [hsize_t](repeating: 0, count: shape.count)
            var extent = shape.map { hsize_t($0) }
            for (index, range) in ranges.enumerated() {
                offset[0] = hsize_t(range.lowerBound)
                extent[0] = hsize_t(range.count)
                H5Sselect_hyperslab(fileSpace, index == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, offset, nil, extent, nil)
            }
            extent[0] = hsize_t(ranges.reduce(0) { $0 + $1.count })
            let memorySpace = H5Screate_simple(Int32(shape.count), extent, nil)
            defer { H5Sclose(memorySpace) }
            return try body(dataset, memorySpace, fileSpace)
        }
    }

    // MARK: writing

    /// Creates dataset `name` of Float32 with `shape` (groups on its path are created too),
    /// chunked by `chunkRows` rows of the first axis when given, gzip-compressed at level
    /// `compression` (1–9, needs chunks) when given. Write its rows with `write(_:rows:from:)`.
    public func createDataset(_ name: String, shape: [Int], chunkRows: Int? = nil, compression: Int? = nil) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else {
            throw HDF5Error(file: path, dataset: name, "cannot create a dataset of shape \(shape)")
        }
        try HDF5Library.locked {
            let dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(shape.count), dims, nil)
            defer { H5Sclose(space) }
            let creation = H5Pcreate(loom_h5p_dataset_create())
            defer { H5Pclose(creation) }
            let rows = chunkRows ?? (compression != nil ? 256 : nil)
            if let rows, shape[0] > 0 {
                var chunk = dims
                chunk[0] = hsize_t(min(max(rows, 1), shape[0]))
                H5Pset_chunk(creation, Int32(shape.count), chunk)
                if let compression { H5Pset_deflate(creation, UInt32(min(max(compression, 0), 9))) }
            }
            let links = H5Pcreate(loom_h5p_link_create())
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            let dataset = H5Dcreate2(id, name, loom_h5t_ieee_f32le(), space, links, creation, loom_h5p_default())
            guard dataset >= 0 else { throw HDF5Error(file: path, dataset: name, "cannot create the dataset (does it exist already?)") }
            H5Dclose(dataset)
        }
    }

    /// Creates group `name` and the groups on its path that are missing; an existing group
    /// is left as it is.
    public func createGroup(_ name: String) throws {
        guard !contains(name) else { return }
        try HDF5Library.locked {
            let links = H5Pcreate(loom_h5p_link_create())
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            let group = H5Gcreate2(id, name, links, loom_h5p_default(), loom_h5p_default())
            guard group >= 0 else { throw HDF5Error(file: path, dataset: name, "cannot create the group") }
            H5Gclose(group)
        }
    }

    /// Makes `name` an external link to `object` ("/X") in the file at `file` (a path, as
    /// libhdf5 resolves it: absolute, or relative to the working folder or this file's). A file
    /// with one is read only with `followsOtherFiles`.
    public func createExternalLink(_ name: String, to object: String, in file: String) throws {
        try HDF5Library.locked {
            let links = H5Pcreate(loom_h5p_link_create())
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            guard H5Lcreate_external(file, object, id, name, links, loom_h5p_default()) >= 0 else {
                throw HDF5Error(file: path, dataset: name, "cannot create the external link (does the name exist already?)")
            }
        }
    }

    /// Creates dataset `name` of Float32 with `shape` as a virtual dataset whose values are all
    /// of `dataset` (of the same shape) in the file at `file` ("." for this file). A file with
    /// one is read only with `followsOtherFiles`.
    public func createVirtualDataset(_ name: String, shape: [Int], source file: String, dataset: String) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else {
            throw HDF5Error(file: path, dataset: name, "cannot create a dataset of shape \(shape)")
        }
        try HDF5Library.locked {
            let dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), dims, nil)
            defer { H5Sclose(space) }
            let creation = H5Pcreate(loom_h5p_dataset_create())
            defer { H5Pclose(creation) }
            let links = H5Pcreate(loom_h5p_link_create())
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            guard H5Pset_virtual(creation, space, file, dataset, space) >= 0 else {
                throw HDF5Error(file: path, dataset: name, "cannot map \(file):\(dataset) into a virtual dataset")
            }
            let created = H5Dcreate2(id, name, loom_h5t_native_float(), space, links, creation, loom_h5p_default())
            guard created >= 0 else { throw HDF5Error(file: path, dataset: name, "cannot create the virtual dataset") }
            H5Dclose(created)
        }
    }

    /// Writes `range.count` rows of Float32 from `buffer` at rows `range` of dataset `name`.
    public func write(_ name: String, rows range: Range<Int>, from buffer: UnsafePointer<Float>) throws {
        let (shape, _) = try readableInfo(name, deferringStorage: true)
        guard range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw HDF5Error(file: path, dataset: name, "rows \(range) outside its \(shape[0]) rows")
        }
        guard !range.isEmpty else { return }
        try withRows(name, shape: shape, [range]) { dataset, memorySpace, fileSpace in
            guard H5Dwrite(dataset, loom_h5t_native_float(), memorySpace, fileSpace, loom_h5p_default(), buffer) >= 0 else {
                throw HDF5Error(file: path, dataset: name, "writing rows \(range) failed")
            }
        }
    }

    /// Writes a whole tensor as a new Float32 dataset; see `createDataset` for the options.
    public func write(_ tensor: Tensor, as name: String, chunkRows: Int? = nil, compression: Int? = nil) throws {
        let shape = tensor.rank == 0 ? [1] : tensor.shape
        try createDataset(name, shape: shape, chunkRows: chunkRows, compression: compression)
        try tensor.scalars.withUnsafeBufferPointer { values in
            guard let base = values.baseAddress else { return }
            try write(name, rows: 0..<shape[0], from: base)
        }
    }

    /// Writes `values` as a new 1-D dataset of unsigned 64-bit words (little-endian in the file).
    public func write(words values: [UInt64], as name: String) throws {
        try writeVector(name, count: values.count, fileType: loom_h5t_std_u64le(), memoryType: loom_h5t_native_uint64()) { write in
            values.withUnsafeBytes { write($0.baseAddress) }
        }
    }

    /// Writes `value` as a new scalar dataset (shape `()`): a 64-bit integer (as Keras stores
    /// an optimizer's `iteration`) or a Float32.
    public func write(scalar value: Double, integer: Bool, as name: String) throws {
        try HDF5Library.locked {
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let links = H5Pcreate(loom_h5p_link_create())
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            let fileType = integer ? loom_h5t_std_i64le() : loom_h5t_ieee_f32le()
            let dataset = H5Dcreate2(id, name, fileType, space, links, loom_h5p_default(), loom_h5p_default())
            guard dataset >= 0 else { throw HDF5Error(file: path, dataset: name, "cannot create the dataset (does it exist already?)") }
            defer { H5Dclose(dataset) }
            var whole = Int64(exactly: value.rounded()) ?? 0, single = Float(value)
            let status =
                integer
                ? H5Dwrite(dataset, loom_h5t_native_int64(), loom_h5s_all(), loom_h5s_all(), loom_h5p_default(), &whole)
                : H5Dwrite(dataset, loom_h5t_native_float(), loom_h5s_all(), loom_h5s_all(), loom_h5p_default(), &single)
            guard status >= 0 else { throw HDF5Error(file: path, dataset: name, "writing the value failed") }
        }
    }

    /// Writes `values` as a new 1-D dataset of Float64.
    public func write(reals values: [Double], as name: String) throws {
        try writeVector(name, count: values.count, fileType: loom_h5t_ieee_f64le(), memoryType: loom_h5t_native_double()) { write in
            values.withUnsafeBytes { write($0.baseAddress) }
        }
    }

    /// A 1-D dataset of unsigned 64-bit words (as `write(words:as:)` writes them).
    public func readWords(_ name: String) throws -> [UInt64] {
        let count = try vectorCount(name, elementSize: 8)
        var values = [UInt64](repeating: 0, count: count)
        try readVector(name, count: count, memoryType: loom_h5t_native_uint64(), into: &values)
        return values
    }

    /// A scalar dataset (shape `()`, or one value) converted to Float64: an integer up to 2^53
    /// exactly.
    public func readScalar(_ name: String) throws -> Double {
        let (shape, _) = try readableInfo(name, allowingScalar: true)
        guard Shape.count(shape) == 1 else {
            throw HDF5Error(file: path, dataset: name, "has shape \(Shape.describe(shape)); expected one value")
        }
        var value = [0.0]
        try readVector(name, count: 1, memoryType: loom_h5t_native_double(), into: &value)
        return value[0]
    }

    /// A 1-D dataset converted to Float64.
    public func readReals(_ name: String) throws -> [Double] {
        let count = try vectorCount(name, elementSize: 8)
        var values = [Double](repeating: 0, count: count)
        try readVector(name, count: count, memoryType: loom_h5t_native_double(), into: &values)
        return values
    }

    /// The length of 1-D dataset `name`, refused when the file is too short to hold it (a
    /// damaged size must not become an allocation).
    private func vectorCount(_ name: String, elementSize: Int) throws -> Int {
        let (shape, _) = try readableInfo(name)
        let fileSize = HDF5File.size(of: path)
        guard shape.count == 1, shape[0] <= fileSize / elementSize else {
            throw HDF5Error(file: path, dataset: name, "has shape \(shape); expected a vector the file can hold")
        }
        return shape[0]
    }

    /// The size in bytes of the file at `path`, its symbolic links followed; `Int.max` when
    /// it cannot be read.
    static func size(of path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { return Int.max }
        return Int(info.st_size)
    }

    private func readVector<T>(_ name: String, count: Int, memoryType: hid_t, into values: inout [T]) throws {
        guard count > 0 else { return }
        try withDataset(name) { dataset in
            try checkChunks(name, [0..<count], in: dataset)
            let status = values.withUnsafeMutableBytes {
                H5Dread(dataset, memoryType, loom_h5s_all(), loom_h5s_all(), loom_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw readFailure(name, dataset, "cannot be read") }
        }
    }

    private func writeVector(
        _ name: String, count: Int, fileType: hid_t, memoryType: hid_t,
        _ body: ((UnsafeRawPointer?) -> herr_t) -> herr_t
    ) throws {
        try HDF5Library.locked {
            var dims = [hsize_t(count)]
            let space = H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let links = H5Pcreate(loom_h5p_link_create())
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            let dataset = H5Dcreate2(id, name, fileType, space, links, loom_h5p_default(), loom_h5p_default())
            guard dataset >= 0 else { throw HDF5Error(file: path, dataset: name, "cannot create the dataset (does it exist already?)") }
            defer { H5Dclose(dataset) }
            let status =
                count == 0
                ? 0
                : body { pointer in
                    H5Dwrite(dataset, memoryType, loom_h5s_all(), loom_h5s_all(), loom_h5p_default(), pointer)
                }
            guard status >= 0 else { throw HDF5Error(file: path, dataset: name, "writing \(count) values failed") }
        }
    }

    // MARK: attributes

    /// Sets a Float64 array attribute on the file (`object` nil) or on a dataset or group.
    public func setAttribute(_ attribute: String, _ values: [Double], on object: String? = nil) throws {
        try withObject(object) { target in
            if H5Aexists(target, attribute) > 0 { H5Adelete(target, attribute) }
            var dims = [hsize_t(values.count)]
            let space = H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let handle = H5Acreate2(target, attribute, loom_h5t_ieee_f64le(), space, loom_h5p_default(), loom_h5p_default())
            guard handle >= 0 else { throw HDF5Error(file: path, dataset: object, "cannot create attribute '\(attribute)'") }
            defer { H5Aclose(handle) }
            H5Awrite(handle, loom_h5t_native_double(), values)
        }
    }

    /// Sets a string attribute (fixed-length ASCII/UTF-8) on the file or an object.
    public func setAttribute(_ attribute: String, _ value: String, on object: String? = nil) throws {
        try withObject(object) { target in
            if H5Aexists(target, attribute) > 0 { H5Adelete(target, attribute) }
            let bytes = Array(value.utf8)
            let type = H5Tcopy(loom_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, max(bytes.count, 1))
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let handle = H5Acreate2(target, attribute, type, space, loom_h5p_default(), loom_h5p_default())
            guard handle >= 0 else { throw HDF5Error(file: path, dataset: object, "cannot create attribute '\(attribute)'") }
            defer { H5Aclose(handle) }
            H5Awrite(handle, type, bytes.isEmpty ? [0] : bytes)
        }
    }

    /// Sets an attribute of variable-length UTF-8 strings, as h5py writes Python strings: a
    /// scalar holding the one string of `strings` when `scalar`, else a 1-D array (empty
    /// allowed), as Keras 2 writes its lists of names.
    public func setAttribute(
        _ attribute: String, variableLengthStrings strings: [String], scalar: Bool = false, on object: String? = nil
    ) throws {
        precondition(!scalar || strings.count == 1, "a scalar attribute holds one string")
        try withObject(object) { target in
            if H5Aexists(target, attribute) > 0 { H5Adelete(target, attribute) }
            let type = H5Tcopy(loom_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, loom_h5t_variable())
            H5Tset_cset(type, H5T_CSET_UTF8)
            var dims = [hsize_t(strings.count)]
            let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let handle = H5Acreate2(target, attribute, type, space, loom_h5p_default(), loom_h5p_default())
            guard handle >= 0 else { throw HDF5Error(file: path, dataset: object, "cannot create attribute '\(attribute)'") }
            defer { H5Aclose(handle) }
            guard !strings.isEmpty else { return }
            let copies = strings.map { strdup($0) }
            defer { for copy in copies { free(copy) } }
            var pointers = copies.map { UnsafePointer($0) }
            guard H5Awrite(handle, type, &pointers) >= 0 else {
                throw HDF5Error(file: path, dataset: object, "cannot write attribute '\(attribute)'")
            }
        }
    }

    /// A numeric attribute as Float64 values, or nil when absent.
    public func doubleAttribute(_ attribute: String, on object: String? = nil) throws -> [Double]? {
        try withAttribute(attribute, on: object) { handle, _, count in
            var values = [Double](repeating: 0, count: count)
            guard H5Aread(handle, loom_h5t_native_double(), &values) >= 0 else {
                throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' is not numeric")
            }
            return values
        }
    }

    /// A string attribute holding one string, fixed or variable length, or nil when absent.
    public func stringAttribute(_ attribute: String, on object: String? = nil) throws -> String? {
        guard let strings = try stringsAttribute(attribute, on: object) else { return nil }
        guard strings.count == 1 else {
            throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' holds \(strings.count) strings; expected one")
        }
        return strings[0]
    }

    /// A string attribute's strings (a scalar or an array; fixed-length, as NumPy byte
    /// strings, or variable-length, as h5py writes Python strings), or nil when absent.
    public func stringsAttribute(_ attribute: String, on object: String? = nil) throws -> [String]? {
        try withAttribute(attribute, on: object) { handle, type, count in
            // An empty list has no strings to type (h5py writes it as float64).
            if count == 0 { return [] }
            guard H5Tget_class(type) == H5T_STRING else {
                throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' does not hold strings")
            }
            if H5Tis_variable_str(type) > 0 {
                let memoryType = H5Tcopy(loom_h5t_c_s1())
                defer { H5Tclose(memoryType) }
                H5Tset_size(memoryType, loom_h5t_variable())
                H5Tset_cset(memoryType, H5Tget_cset(type))
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                guard H5Aread(handle, memoryType, &pointers) >= 0 else {
                    throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' cannot be read")
                }
                defer { for pointer in pointers { H5free_memory(pointer) } }
                return pointers.map { $0.map { String(cString: $0) } ?? "" }
            }
            let size = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: max(size * count, 1))
            guard H5Aread(handle, type, &bytes) >= 0 else {
                throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' cannot be read")
            }
            return (0..<count).map { index in
                String(decoding: bytes[(index * size)..<((index + 1) * size)].prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }

    // MARK: handles

    /// Opens `attribute` of the file or `object` and hands `body` its handle, type and element
    /// count; nil when there is no such attribute.
    private func withAttribute<T>(
        _ attribute: String, on object: String?, _ body: (_ handle: hid_t, _ type: hid_t, _ count: Int) throws -> T
    ) throws -> T? {
        try withObject(object) { target in
            guard H5Aexists(target, attribute) > 0 else { return nil }
            let handle = H5Aopen(target, attribute, loom_h5p_default())
            guard handle >= 0 else { throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' cannot be opened") }
            defer { H5Aclose(handle) }
            let type = H5Aget_type(handle)
            defer { H5Tclose(type) }
            let space = H5Aget_space(handle)
            defer { H5Sclose(space) }
            let count = H5Sget_simple_extent_npoints(space)
            guard type >= 0, space >= 0, count >= 0 else {
                throw HDF5Error(file: path, dataset: object, "attribute '\(attribute)' cannot be read")
            }
            return try body(handle, type, Int(count))
        }
    }

    /// The HDF5 library's version, "1.10.8".
    static var libraryVersion: String {
        var (major, minor, release): (UInt32, UInt32, UInt32) = (0, 0, 0)
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// Runs `body` on dataset `name`, open; its links are checked first (`checkLinks`), so
    /// no link to another file is followed unless `followsOtherFiles`.
    private func withDataset<T>(_ name: String, _ body: (hid_t) throws -> T) throws -> T {
        try HDF5Library.locked { try checkLinks(to: name) }
        guard contains(name) else {
            throw HDF5Error(file: path, dataset: name, "no such dataset (the file has: \(rootNames().joined(separator: ", ")))")
        }
        return try HDF5Library.locked {
            access.reset()
            let dataset = H5Dopen2(id, name, access.dataset)
            guard dataset >= 0 else {
                if access.refusedExternal { throw HDF5Error(file: path, dataset: name, HDF5File.crossesToAnotherFile) }
                guard H5Oexists_by_name(id, name, loom_h5p_default()) > 0 else {
                    throw HDF5Error(file: path, dataset: name, "is a link to no object (nothing was written where it points)")
                }
                let group = H5Gopen2(id, name, access.group)
                if group >= 0 {
                    H5Gclose(group)
                    throw HDF5Error(file: path, dataset: name, "is a group, not a dataset")
                }
                throw HDF5Error(
                    file: path, dataset: name,
                    "cannot be opened by this HDF5 library (\(HDF5File.libraryVersion)): it may use a newer format than the "
                        + "library reads (h5py's libver='latest'); write it with libver='v110' or older")
            }
            defer { H5Dclose(dataset) }
            return try body(dataset)
        }
    }

    private func withObject<T>(_ name: String?, _ body: (hid_t) throws -> T) throws -> T {
        guard let name else { return try HDF5Library.locked { try body(id) } }
        try HDF5Library.locked { try checkLinks(to: name) }
        guard contains(name) else { throw HDF5Error(file: path, dataset: name, "no such dataset or group") }
        return try HDF5Library.locked {
            let object = H5Oopen(id, name, access.link)
            guard object >= 0 else { throw HDF5Error(file: path, dataset: name, "cannot be opened") }
            defer { H5Oclose(object) }
            return try body(object)
        }
    }

    private func shape(of space: hid_t, dataset: String) throws -> [Int] {
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw HDF5Error(file: path, dataset: dataset, "has no simple dataspace") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    private static func elementType(_ type: hid_t) -> HDF5ElementType {
        let bits = Int(H5Tget_size(type)) * 8
        switch H5Tget_class(type) {
        case H5T_FLOAT: return .float(bits: bits)
        case H5T_INTEGER: return .integer(bits: bits, signed: H5Tget_sign(type) == H5T_SGN_2)
        case H5T_STRING: return .unsupported("string")
        case H5T_COMPOUND: return .unsupported("compound")
        case H5T_ENUM: return .unsupported("enum")
        case H5T_BITFIELD: return .unsupported("bitfield")
        case H5T_OPAQUE: return .unsupported("opaque")
        case H5T_REFERENCE: return .unsupported("reference")
        case H5T_VLEN: return .unsupported("variable-length")
        case H5T_ARRAY: return .unsupported("array")
        default: return .unsupported("time")
        }
    }
}
