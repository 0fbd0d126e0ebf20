import Foundation
import Loom

/// One fuzzer input as the file a reader is given: written to a path of this process in
/// shared memory (or the temporary folder), replaced by the next input.
public enum FuzzInput {
    private static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("loom-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// The path of `name` in this process's folder.
    public static func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// Writes `size` bytes at `data` to `name`; returns its path.
    public static func write(_ data: UnsafePointer<UInt8>, _ size: Int, as name: String) -> String {
        let path = path(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
        return path
    }

    /// Hands the process to libFuzzer with `test` as the target: a fuzzer's `main.swift` calls
    /// it (SwiftPM gives every executable its own `main`, so libFuzzer's is never linked).
    public static func run(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, test))
    }

    /// Runs `body`, for which any thrown error is a correct answer to a bad input; only a
    /// crash, a hang or a sanitizer report is a finding.
    public static func expectingErrors(_ body: () throws -> Void) {
        do { try body() } catch {}
    }
}

/// libFuzzer's entry for programs with their own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
