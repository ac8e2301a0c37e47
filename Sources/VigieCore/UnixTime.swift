/// A wall-clock instant in milliseconds since the Unix epoch.
///
/// The policy works on wall time rather than a monotonic clock because its windows,
/// notices ("sending frees up at 14:05") and stored counters must mean the same thing
/// after a restart. Milliseconds keep the sliding-window weights exact enough for a
/// test that drives a message per second for a day.
public struct UnixTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    public var seconds: Int64 { milliseconds / 1000 }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool { lhs.milliseconds < rhs.milliseconds }
    public static func + (lhs: UnixTime, rhs: Duration) -> UnixTime {
        UnixTime(milliseconds: lhs.milliseconds + rhs.milliseconds)
    }
    public static func - (lhs: UnixTime, rhs: UnixTime) -> Duration {
        .milliseconds(lhs.milliseconds - rhs.milliseconds)
    }
    public var description: String { "\(milliseconds)ms" }
}

extension Duration {
    /// Whole milliseconds in this duration (sub-millisecond parts are dropped).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Where the policy reads "now". Injected so tests replay a day of traffic in milliseconds.
public protocol TimeSource: Sendable {
    func now() -> UnixTime
}
