/// Everything the policy counts for one account, as the store persists and restores
/// it and the admin views read it: every window with its own start. In memory the
/// policy keeps the smaller `PackedCounters`, which converts to and from this.
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
}
