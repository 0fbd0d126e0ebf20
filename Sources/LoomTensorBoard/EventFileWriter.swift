import Foundation
import Loom

/// A TensorBoard event file: TFRecord framing (each record its length as 8 little-endian
/// bytes, the length's masked CRC-32C, the bytes, their masked CRC-32C) around `Event`
/// protocol buffers (`Protos/event.proto`, TensorBoard's own messages): the first holds
/// `file_version` "brain.Event:2", each next one a `Summary` of scalars (`simple_value`) or
/// histograms (`histo`) at a step, or a session's start.
///
/// Records are appended and flushed as they are written, so a run's curves show in
/// TensorBoard while it trains and survive a kill (the one file Loom writes in place rather
/// than through a temporary name). The file is named as TensorFlow names its own,
/// `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`, which TensorBoard lists.
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
        try append(Tensorboard_Event.with { $0.fileVersion = "brain.Event:2" })
    }

    deinit {
        try? handle.close()
    }

    /// Appends scalars `values` (tag → value) at `step`, one `Event` holding them all.
    public func write(scalars values: [(tag: String, value: Double)], step: Int) throws {
        try append(
            Tensorboard_Event.with { event in
                event.step = Int64(step)
                event.summary.value = values.map { tag, value in
                    Tensorboard_Summary.Value.with {
                        $0.tag = tag; $0.simpleValue = Float(value)
                    }
                }
            })
    }

    /// Appends histograms of `values` (tag → the values) at `step`, one `Event` holding them
    /// all; each in `buckets` buckets of equal width between its smallest and largest value
    /// (TensorFlow's default 30), NaN and infinite values left out.
    public func write(histograms values: [(tag: String, values: [Float])], step: Int, buckets: Int = 30) throws {
        try append(
            Tensorboard_Event.with { event in
                event.step = Int64(step)
                event.summary.value = values.map { tag, values in
                    Tensorboard_Summary.Value.with {
                        $0.tag = tag
                        $0.histo = EventFileWriter.histogram(values, buckets: buckets)
                    }
                }
            })
    }

    /// Appends a session's start at `step`: TensorBoard then drops what an earlier session
    /// wrote after that step (the events of a run killed after its last checkpoint).
    public func writeSessionStart(step: Int) throws {
        try append(
            Tensorboard_Event.with { event in
                event.step = Int64(step)
                event.sessionLog = Tensorboard_SessionLog.with { $0.status = .start }
            })
    }

    /// `values`' histogram: bucket i counts the values in (limit[i-1], limit[i]].
    static func histogram(_ values: [Float], buckets: Int) -> Tensorboard_HistogramProto {
        let finite = values.lazy.filter(\.isFinite).map(Double.init)
        var histogram = Tensorboard_HistogramProto()
        guard let low = finite.min(), let high = finite.max() else { return histogram }
        // Equal values make one bucket at their value.
        let count = high > low ? max(buckets, 1) : 1
        let width = high > low ? (high - low) / Double(count) : 1
        histogram.min = low
        histogram.max = high
        histogram.bucketLimit = (1...count).map { $0 == count ? high : low + width * Double($0) }
        var counts = [Double](repeating: 0, count: count)
        for value in finite {
            counts[min(count - 1, max(0, Int(((value - low) / width).rounded(.up)) - 1))] += 1
            histogram.num += 1
            histogram.sum += value
            histogram.sumSquares += value * value
        }
        histogram.bucket = counts
        return histogram
    }

    /// One TFRecord: length, its masked CRC, the event's bytes, their masked CRC; then flushed.
    private func append(_ event: Tensorboard_Event) throws {
        var event = event
        event.wallTime = Date().timeIntervalSince1970
        let data: [UInt8]
        do {
            data = try event.serializedBytes()
        } catch {
            throw LoomError.invalidArgument("TensorBoard: cannot encode an event (\(error))")
        }
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
