/// `AccountCounters` as an account's entry keeps it in memory: 88 bytes, not 144.
///
/// Every limit window of an account is brought forward to the same instant at once,
/// and their lengths divide each other (minute, hour, day), so each window's start
/// follows from that one instant: one timestamp instead of six. The burst windows,
/// whose length a reload may change, keep a start of their own. The store still
/// sees `AccountCounters` (`init(_:)` and `unpacked` convert, off the hot path).
struct PackedCounters: Sendable, Equatable {
    /// One window's two fixed-window counts (see `SlidingWindowCount`).
    struct Counts: Sendable, Equatable {
        var previous: UInt32 = 0
        var current: UInt32 = 0
    }

    /// The latest instant the limit windows were brought forward to; also when the
    /// account last sent or was refused.
    var lastActivity: Int64 = 0
    var burstStart: Int64 = 0
    var messagesPerMinute = Counts(), messagesPerHour = Counts(), messagesPerDay = Counts()
    var recipientsPerMinute = Counts(), recipientsPerHour = Counts(), recipientsPerDay = Counts()
    var burstMessagesCounts = Counts(), burstRecipientsCounts = Counts()
    var refusalsInARow: UInt32 = 0

    init() {}

    /// From saved counters: every limit window is first brought forward to the latest
    /// instant any of them (or the last activity) reached.
    init(_ saved: AccountCounters) {
        let latest = [saved.lastActivity, saved.messagesPerMinute.windowStart, saved.messagesPerHour.windowStart,
                      saved.messagesPerDay.windowStart, saved.recipientsPerMinute.windowStart,
                      saved.recipientsPerHour.windowStart, saved.recipientsPerDay.windowStart].max()!
        func counts(_ window: SlidingWindowCount, _ length: Int64) -> Counts {
            var window = window
            window.advance(to: latest, length: length)
            return Counts(previous: window.previous, current: window.current)
        }
        lastActivity = latest
        messagesPerMinute = counts(saved.messagesPerMinute, LimitWindow.minute.milliseconds)
        messagesPerHour = counts(saved.messagesPerHour, LimitWindow.hour.milliseconds)
        messagesPerDay = counts(saved.messagesPerDay, LimitWindow.day.milliseconds)
        recipientsPerMinute = counts(saved.recipientsPerMinute, LimitWindow.minute.milliseconds)
        recipientsPerHour = counts(saved.recipientsPerHour, LimitWindow.hour.milliseconds)
        recipientsPerDay = counts(saved.recipientsPerDay, LimitWindow.day.milliseconds)
        burstStart = saved.burstMessages.windowStart
        burstMessagesCounts = Counts(previous: saved.burstMessages.previous, current: saved.burstMessages.current)
        burstRecipientsCounts = Counts(previous: saved.burstRecipients.previous, current: saved.burstRecipients.current)
        refusalsInARow = saved.refusalsInARow
    }

    /// As the store and the admin views want them.
    var unpacked: AccountCounters {
        var counters = AccountCounters()
        for window in LimitWindow.allCases {
            counters[.messages, window] = self[.messages, window]
            counters[.recipients, window] = self[.recipients, window]
        }
        counters.burstMessages = burstMessages
        counters.burstRecipients = burstRecipients
        counters.refusalsInARow = refusalsInARow
        counters.lastActivity = lastActivity
        return counters
    }

    private static func start(_ instant: Int64, _ length: Int64) -> Int64 { instant - instant % length }

    /// One limit window as a `SlidingWindowCount` (its start derived).
    subscript(metric: LimitMetric, window: LimitWindow) -> SlidingWindowCount {
        let counts = LimitMetric.pick(metric, window, messages: (messagesPerMinute, messagesPerHour, messagesPerDay),
                                      recipients: (recipientsPerMinute, recipientsPerHour, recipientsPerDay))
        return SlidingWindowCount(windowStart: Self.start(lastActivity, window.milliseconds),
                                  previous: counts.previous, current: counts.current)
    }

    var burstMessages: SlidingWindowCount {
        SlidingWindowCount(windowStart: burstStart, previous: burstMessagesCounts.previous, current: burstMessagesCounts.current)
    }
    var burstRecipients: SlidingWindowCount {
        SlidingWindowCount(windowStart: burstStart, previous: burstRecipientsCounts.previous, current: burstRecipientsCounts.current)
    }

    /// Brings every window forward to `now`. A clock stepping back changes nothing.
    mutating func advance(to now: Int64, burstWindow: Int64) {
        if now > lastActivity {
            // Window lengths are constants here, so these divisions compile to multiplications.
            Self.shift(&messagesPerMinute, &recipientsPerMinute, from: lastActivity, to: now, length: LimitWindow.minute.milliseconds)
            Self.shift(&messagesPerHour, &recipientsPerHour, from: lastActivity, to: now, length: LimitWindow.hour.milliseconds)
            Self.shift(&messagesPerDay, &recipientsPerDay, from: lastActivity, to: now, length: LimitWindow.day.milliseconds)
            lastActivity = now
        }
        var messages = burstMessages, recipients = burstRecipients
        messages.advance(to: now, length: burstWindow)
        recipients.advance(to: now, length: burstWindow)
        burstStart = messages.windowStart
        burstMessagesCounts = Counts(previous: messages.previous, current: messages.current)
        burstRecipientsCounts = Counts(previous: recipients.previous, current: recipients.current)
    }

    /// Moves two windows of one length from the fixed window holding `old` to the one
    /// holding `new`, as `SlidingWindowCount.advance` does.
    private static func shift(_ first: inout Counts, _ second: inout Counts, from old: Int64, to new: Int64, length: Int64) {
        let oldStart = start(old, length), newStart = start(new, length)
        if newStart <= oldStart { return }
        if newStart - oldStart == length {
            first = Counts(previous: first.current, current: 0)
            second = Counts(previous: second.current, current: 0)
        } else {
            first = Counts()
            second = Counts()
        }
    }

    /// Counts one accepted message with `recipients` recipients in every window.
    mutating func record(recipients: Int) {
        func add(_ counts: inout Counts, _ amount: Int) {
            counts.current = UInt32(min(UInt64(counts.current) + UInt64(max(0, amount)), UInt64(UInt32.max)))
        }
        add(&messagesPerMinute, 1)
        add(&messagesPerHour, 1)
        add(&messagesPerDay, 1)
        add(&recipientsPerMinute, recipients)
        add(&recipientsPerHour, recipients)
        add(&recipientsPerDay, recipients)
        add(&burstMessagesCounts, 1)
        add(&burstRecipientsCounts, recipients)
    }

    /// True when every window has fully decayed: the account can be forgotten.
    func isIdle(at now: Int64) -> Bool {
        now - lastActivity > 2 * LimitWindow.day.milliseconds && refusalsInARow == 0
    }
}
