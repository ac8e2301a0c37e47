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
                }
                #expect(packed.unpacked == full)
                for window in LimitWindow.allCases {
                    #expect(packed[.messages, window] == full[.messages, window])
                    #expect(packed[.recipients, window] == full[.recipients, window])
                }
            }
        }
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
