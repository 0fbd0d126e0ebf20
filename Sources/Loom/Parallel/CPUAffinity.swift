import Foundation

/// Pins threads to CPUs, within the CPUs the process may use.
///
/// Why: a pool thread starts on its creator's CPU, and two threads that spin-wait for each
/// other on one CPU run at one core's speed until the kernel migrates one of them, which a
/// short `fit` may never see (measured: 200-step fits of the vanilla model on 2 workers ran at
/// the one-core speed in about half the runs; pinned, in none).
///
/// glibc's `sched_getaffinity`, `sched_setaffinity` and `sched_getcpu` are GNU extensions
/// Swift's Glibc module does not export, so they are looked up by name; where one is missing
/// nothing is pinned.
enum CPUAffinity {
    private typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
    private typealias SetAffinity = @convention(c) (Int32, Int, UnsafeRawPointer) -> Int32
    private typealias GetCPU = @convention(c) () -> Int32
    /// `sizeof(cpu_set_t)`: 1024 CPUs.
    private static let setSize = 128

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(dlopen(nil, RTLD_NOW), name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    /// The calling thread's affinity mask (`cpu_set_t` bytes), or nil if unknown.
    static func currentMask() -> [UInt8]? {
        guard let get = symbol("sched_getaffinity", as: GetAffinity.self) else { return nil }
        var set = [UInt8](repeating: 0, count: setSize)
        guard set.withUnsafeMutableBytes({ get(0, setSize, $0.baseAddress!) }) == 0 else { return nil }
        return set
    }

    /// Gives the calling thread the affinity mask `mask` (from `currentMask`).
    static func restore(_ mask: [UInt8]) {
        guard let set = symbol("sched_setaffinity", as: SetAffinity.self) else { return }
        _ = mask.withUnsafeBytes { set(0, setSize, $0.baseAddress!) }
    }

    /// The CPUs this thread may run on, the CPU it runs on now first, or [] if unknown.
    static func allowedCPUs() -> [Int] {
        guard let set = currentMask() else { return [] }
        let cpus = (0..<(setSize * 8)).filter { set[$0 / 8] & (1 << ($0 % 8)) != 0 }
        guard let current = symbol("sched_getcpu", as: GetCPU.self).map({ Int($0()) }),
            let index = cpus.firstIndex(of: current)
        else { return cpus }
        return Array(cpus[index...] + cpus[..<index])
    }

    /// Pins the calling thread to `cpu`.
    static func pinCurrentThread(to cpu: Int) {
        guard cpu >= 0, cpu < setSize * 8 else { return }
        var mask = [UInt8](repeating: 0, count: setSize)
        mask[cpu / 8] |= 1 << (cpu % 8)
        restore(mask)
    }
}
