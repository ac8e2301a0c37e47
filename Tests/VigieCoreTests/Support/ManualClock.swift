import Synchronization
import VigieCore

/// A clock the test moves by hand, so a day of traffic runs in milliseconds.
///
/// A final class behind a `Mutex` because the policy reads it from many threads in
/// the concurrency tests while the test thread may move it.
final class ManualClock: TimeSource {
    private let current: Mutex<Int64>

    init(_ start: UnixTime = .testStart) {
        current = Mutex(start.milliseconds)
    }

    func now() -> UnixTime {
        UnixTime(milliseconds: current.withLock { $0 })
    }

    func advance(by duration: Duration) {
        current.withLock { $0 += duration.milliseconds }
    }

    /// Sets the time, forwards or backwards (wall clocks do step back).
    func set(_ time: UnixTime) {
        current.withLock { $0 = time.milliseconds }
    }
}

extension UnixTime {
    /// 2025-11-27 09:00:00 UTC: aligned on the hour, so minute, hour and 10-minute
    /// windows start exactly here and a burst's first window is counted exactly.
    static let testStart = UnixTime(seconds: 1_764_234_000)
    /// 2025-11-27 00:00:00 UTC, the start of a day window.
    static let testMidnight = UnixTime(seconds: 1_764_201_600)
}
