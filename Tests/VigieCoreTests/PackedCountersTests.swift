import Testing
import VigieTestKit
@testable import VigieCore

@Suite("Packed counters (the in-memory form)")
struct PackedCountersTests {
    /// The packed form, driven like the policy drives it, must tell the same counts as
    /// `AccountCounters` driven the same way (time only goes forward here).
    @Test func sameCountsAsTheFullForm() {
        var random = SeededRandom(seed: 11)
        for round in 0..<50 {
            var packed = PackedCounters()
            var full = AccountCounters()
            var now: Int64 = 1_750_000_000_000 + Int64.random(in: 0..<LimitWindow.day.milliseconds, using: &random)
            let burstWindow: Int64 = [60_000, 600_000, 90_000][round % 3]
            var events: [(at: Int64, recipients: Int)] = []
            for _ in 0..<400 {
                // Steps from milliseconds to more than a day, so every window rolls over.
                let scale: Int64 = [10, 1_000, 60_000, 3_600_000, 90_000_000][Int.random(in: 0..<5, using: &random)]
                now += Int64.random(in: 0...scale, using: &random)
                packed.advance(to: now, burstWindow: burstWindow)
                full.advance(to: now, burstWindow: burstWindow)
                full.lastActivity = now
                if Bool.random(using: &random) {
                    let recipients = Int.random(in: 1...50, using: &random)
                    packed.record(recipients: recipients)
                    full.record(recipients: recipients)
                    events.append((now, recipients))
                }
                #expect(packed.unpacked == full)
                for window in LimitWindow.allCases {
                    #expect(packed[.messages, window] == full[.messages, window])
                    #expect(packed[.recipients, window] == full[.recipients, window])
                    // And against the definition, from the messages themselves: not
                    // SlidingWindowCount's own arithmetic, which both forms share.
                    let length = window.milliseconds
                    #expect(packed[.messages, window] == Self.expected(events, now: now, length: length) { _ in 1 })
                    #expect(packed[.recipients, window] == Self.expected(events, now: now, length: length) { $0 })
                }
                #expect(packed.burstMessages == Self.expected(events, now: now, length: burstWindow) { _ in 1 })
                #expect(packed.burstRecipients == Self.expected(events, now: now, length: burstWindow) { $0 })
            }
        }
    }

    /// What two fixed windows of `length` must hold at `now`, by definition: the
    /// current one starts at the last multiple of `length` at or before `now` and
    /// counts what was recorded since; the previous one counts the window before it.
    static func expected(_ events: [(at: Int64, recipients: Int)], now: Int64, length: Int64,
                         _ amount: (Int) -> Int) -> SlidingWindowCount {
        let start = now - now % length
        var previous = 0, current = 0
        for event in events {
            if event.at >= start { current += amount(event.recipients) }
            else if event.at >= start - length { previous += amount(event.recipients) }
        }
        return SlidingWindowCount(windowStart: start, previous: UInt32(previous), current: UInt32(current))
    }

    @Test func savedCountersComeBackAsSaved() {
        var counters = AccountCounters()
        let now: Int64 = 1_750_000_123_456
        counters.advance(to: now, burstWindow: 600_000)
        counters.lastActivity = now
        counters.record(recipients: 7)
        counters.refusalsInARow = 3
        #expect(PackedCounters(counters).unpacked == counters)
    }

    @Test func aClockSteppingBackKeepsTheCounts() {
        var packed = PackedCounters()
        packed.advance(to: 1_750_000_000_000, burstWindow: 600_000)
        packed.record(recipients: 2)
        packed.advance(to: 1_749_999_000_000, burstWindow: 600_000)
        #expect(packed[.messages, .day].current == 1)
        #expect(packed.burstRecipients.current == 2)
    }
}

/// The full form driven window by window, as the policy drove it before packing:
/// the definition `PackedCounters` is held to.
extension AccountCounters {
    mutating func advance(to now: Int64, burstWindow: Int64) {
        for window in LimitWindow.allCases {
            self[.messages, window].advance(to: now, length: window.milliseconds)
            self[.recipients, window].advance(to: now, length: window.milliseconds)
        }
        burstMessages.advance(to: now, length: burstWindow)
        burstRecipients.advance(to: now, length: burstWindow)
    }

    mutating func record(recipients: Int) {
        for window in LimitWindow.allCases {
            self[.messages, window].add(1)
            self[.recipients, window].add(recipients)
        }
        burstMessages.add(1)
        burstRecipients.add(recipients)
    }
}
