import Foundation

/// A TensorBoard event file: TFRecord framing (each record its length as 8 little-endian
/// bytes, the length's masked CRC-32C, the bytes, their masked CRC-32C) around `Event`
/// protocol buffers (tensorflow/core/util/event.proto): the first holds `file_version`
/// "brain.Event:2", each next one a `Summary` of scalar values (`simple_value`) at a step.
///
/// Records are appended and flushed as they are written, so a run's curves show in
/// TensorBoard while it trains and survive a kill. The file is named as TensorFlow names
/// its own, `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`, which TensorBoard lists.
public final class EventFileWriter {
    /// The file written.
    public let url: URL
    private let handle: FileHandle

    /// Creates the folder (and its parents) when missing, and a new event file in it.
    public init(folder: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw LoomError.invalidArgument("TensorBoard: '\(folder.path)' exists and is not a folder")
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw LoomError.invalidArgument("TensorBoard: cannot create the folder '\(folder.path)' (\(error.localizedDescription))")
        }
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        let seconds = Int(Date().timeIntervalSince1970), pid = ProcessInfo.processInfo.processIdentifier
        var index = 0
        var candidate: URL
        repeat {
            candidate = folder.appendingPathComponent("events.out.tfevents.\(seconds).\(host).\(pid).\(index).v2")
            index += 1
        } while FileManager.default.fileExists(atPath: candidate.path)
        guard FileManager.default.createFile(atPath: candidate.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: candidate.path)
        else {
            throw LoomError.invalidArgument("TensorBoard: cannot write in the folder '\(folder.path)'")
        }
        url = candidate
        self.handle = handle
        var event = ProtobufMessage()
        event.double(1, Date().timeIntervalSince1970)
        event.string(3, "brain.Event:2")
        try append(event.bytes)
    }

    deinit {
        try? handle.close()
    }

    /// Appends scalars `values` (tag → value) at `step`, one `Event` holding them all.
    public func write(scalars values: [(tag: String, value: Double)], step: Int) throws {
        var summary = ProtobufMessage()
        for (tag, value) in values {
            var entry = ProtobufMessage()
            entry.string(1, tag)
            entry.float(2, Float(value))
            summary.message(1, entry)
        }
        var event = ProtobufMessage()
        event.double(1, Date().timeIntervalSince1970)
        event.varint(2, UInt64(bitPattern: Int64(step)))
        event.message(5, summary)
        try append(event.bytes)
    }

    /// One TFRecord: length, its masked CRC, the data, its masked CRC; then flushed.
    private func append(_ data: [UInt8]) throws {
        var record: [UInt8] = []
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Array($0) }
        record += length
        record += withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { Array($0) }
        record += data
        record += withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { Array($0) }
        do {
            try handle.write(contentsOf: Data(record))
            try handle.synchronize()
        } catch {
            throw LoomError.invalidArgument("TensorBoard: cannot write '\(url.path)' (\(error.localizedDescription))")
        }
    }
}
