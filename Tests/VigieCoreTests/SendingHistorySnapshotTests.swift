import Testing
@testable import VigieCore
import VigieTestKit

/// The stored form of a sending history: every field round-trips, and hostile or
/// damaged bytes are refused (an empty history then), never trusted.
@Suite struct SendingHistorySnapshotTests {
    /// A history with every part filled in by real observations.
    static func busyHistory() -> SendingHistory {
        var history = SendingHistory()
        let settings = DetectionSettings()
        var random = SeededRandom(seed: 7)
        for step in 0..<400 {
            var signals = MessageSignals(network: NetworkPrefix(clientAddress: "198.51.\(step % 7).\(step % 200 + 1)"))
            for _ in 0...(step % 3) { signals.add(recipient: "<p\(random.next() % 90)@d\(random.next() % 12).example>") }
            _ = history.observe(signals, now: 1_772_409_600_000 + Int64(step) * 2_700_000, watch: 60, lock: 100, settings: settings)
        }
        history.trust(NetworkPrefix(networkText: "2001:db8:7::/48")!, now: 1_773_500_000_000, settings: settings)
        return history
    }

    @Test func everyFieldRoundTrips() throws {
        let history = Self.busyHistory()
        let bytes = history.snapshot()
        #expect(bytes.count == SendingHistory.snapshotSize)
        #expect(SendingHistory(snapshot: bytes) == history)
        #expect(history.messages == 400)
        #expect(history.habit.activeHours > 3)
    }

    @Test func wrongVersionLengthOrRangesAreRefused() throws {
        let bytes = Self.busyHistory().snapshot()
        var wrongVersion = bytes; wrongVersion[0] = 2
        #expect(SendingHistory(snapshot: wrongVersion) == nil)
        #expect(SendingHistory(snapshot: bytes.dropLast()) == nil)
        #expect(SendingHistory(snapshot: bytes + [0]) == nil)
        var badWatched = bytes; badWatched[17] = 7
        #expect(SendingHistory(snapshot: badWatched) == nil)
        // A score that is not a number would poison every later decision.
        var nanScore = bytes
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { for (i, b) in $0.enumerated() { nanScore[9 + i] = b } }
        #expect(SendingHistory(snapshot: nanScore) == nil)
    }

    @Test func randomBytesNeverTrap() {
        var random = SeededRandom(seed: 11)
        let valid = Self.busyHistory().snapshot()
        for _ in 0..<5000 {
            var bytes = valid
            for _ in 0..<(1 + Int(random.next() % 8)) { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            if let decoded = SendingHistory(snapshot: bytes) { #expect(SendingHistory(snapshot: decoded.snapshot()) == decoded) }
        }
    }
}
