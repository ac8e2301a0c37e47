/// The time windows send limits are counted over.
///
/// Fixed to three so an account's counters are a small fixed-size value: no
/// allocation per message, and a predictable few hundred bytes per tracked account.
public enum LimitWindow: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case minute = 0
    case hour = 1
    case day = 2

    public var duration: Duration {
        switch self {
        case .minute: .seconds(60)
        case .hour: .seconds(3600)
        case .day: .seconds(86_400)
        }
    }

    /// `duration` in milliseconds, as a constant: converting a `Duration` costs
    /// 128-bit arithmetic, on every window of every decision.
    @inlinable
    public var milliseconds: Int64 {
        switch self {
        case .minute: 60_000
        case .hour: 3_600_000
        case .day: 86_400_000
        }
    }

    /// The config key for this window (`per_minute`, ...).
    public var configKey: String { "per_\(self)" }

    public var description: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .day: "day"
        }
    }
}

/// What a limit counts.
public enum LimitMetric: String, Sendable, Codable, CaseIterable {
    case messages
    case recipients
}

extension LimitMetric {
    /// One of six values laid out by metric and window: the layout of every
    /// per-window table (counters, limits), read in one place.
    @inline(__always)
    static func pick<Value>(_ metric: LimitMetric, _ window: LimitWindow,
                            messages: (minute: Value, hour: Value, day: Value),
                            recipients: (minute: Value, hour: Value, day: Value)) -> Value {
        let row = metric == .messages ? messages : recipients
        return switch window {
        case .minute: row.minute
        case .hour: row.hour
        case .day: row.day
        }
    }
}
