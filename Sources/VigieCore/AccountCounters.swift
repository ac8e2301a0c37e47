/// Everything the policy counts for one account: what it persists and restores.
///
/// A fixed-size value (no arrays, no strings) so that updating it in place inside
/// the account table never allocates.
public struct AccountCounters: Sendable, Equatable {
    public var messagesPerMinute = SlidingWindowCount()
    public var messagesPerHour = SlidingWindowCount()
    public var messagesPerDay = SlidingWindowCount()
    public var recipientsPerMinute = SlidingWindowCount()
    public var recipientsPerHour = SlidingWindowCount()
    public var recipientsPerDay = SlidingWindowCount()
    public var burstMessages = SlidingWindowCount()
    public var burstRecipients = SlidingWindowCount()
    /// Attempts refused for a limit since the last accepted message.
    public var refusalsInARow: UInt32 = 0
    /// When this account last sent or was refused: lets idle accounts be evicted.
    public var lastActivity: Int64 = 0

    public init() {}

    public subscript(metric: LimitMetric, window: LimitWindow) -> SlidingWindowCount {
        get {
            LimitMetric.pick(metric, window, messages: (messagesPerMinute, messagesPerHour, messagesPerDay),
                             recipients: (recipientsPerMinute, recipientsPerHour, recipientsPerDay))
        }
        set {
            switch (metric, window) {
            case (.messages, .minute): messagesPerMinute = newValue
            case (.messages, .hour): messagesPerHour = newValue
            case (.messages, .day): messagesPerDay = newValue
            case (.recipients, .minute): recipientsPerMinute = newValue
            case (.recipients, .hour): recipientsPerHour = newValue
            case (.recipients, .day): recipientsPerDay = newValue
            }
        }
    }

    /// Brings every window forward to `now`.
    public mutating func advance(to now: Int64, burstWindow: Int64) {
        // Spelled out: on every decision, and cheaper than looping over `allCases`.
        messagesPerMinute.advance(to: now, length: LimitWindow.minute.milliseconds)
        recipientsPerMinute.advance(to: now, length: LimitWindow.minute.milliseconds)
        messagesPerHour.advance(to: now, length: LimitWindow.hour.milliseconds)
        recipientsPerHour.advance(to: now, length: LimitWindow.hour.milliseconds)
        messagesPerDay.advance(to: now, length: LimitWindow.day.milliseconds)
        recipientsPerDay.advance(to: now, length: LimitWindow.day.milliseconds)
        burstMessages.advance(to: now, length: burstWindow)
        burstRecipients.advance(to: now, length: burstWindow)
    }

    /// Counts one accepted message with `recipients` recipients in every window.
    public mutating func record(recipients: Int) {
        messagesPerMinute.add(1)
        messagesPerHour.add(1)
        messagesPerDay.add(1)
        recipientsPerMinute.add(recipients)
        recipientsPerHour.add(recipients)
        recipientsPerDay.add(recipients)
        burstMessages.add(1)
        burstRecipients.add(recipients)
    }

    /// True when every window has fully decayed: the account can be forgotten.
    public func isIdle(at now: Int64) -> Bool {
        now - lastActivity > 2 * LimitWindow.day.milliseconds && refusalsInARow == 0
    }
}
