import Dispatch

extension DispatchTime {
    /// Seconds from `earlier` to this time.
    package func seconds(since earlier: DispatchTime) -> Double {
        Double(uptimeNanoseconds - earlier.uptimeNanoseconds) / 1e9
    }

    /// Seconds from this time to now.
    package var secondsElapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - uptimeNanoseconds) / 1e9 }
}
