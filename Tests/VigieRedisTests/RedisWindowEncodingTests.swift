import Testing
import VigieCore
@testable import VigieRedis

/// The counting calls' pieces that are laid out once (`WindowEncodings`) and the
/// record the scripts keep and send back (`WindowRecord`).
@Suite struct RedisWindowEncodingTests {
    /// The encodings are kept by the whole list of windows, not by their names: a
    /// limit changed by a reload (same names) must reach the script at once.
    @Test func aChangedLimitIsSentWithTheSameNames() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let account = AccountName(normalized: "encodings")
        func windows(_ limit: Int) -> [RedisSharedCounters.Window] {
            [.init(name: "messages/minute", length: .seconds(60), limit: limit, metric: .messages, role: .limit)]
        }
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(1)).verdict == .accept)
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(1)).verdict == .refuse)
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(5)).verdict == .accept)
        #expect(try counters.check(account: account, recipients: 1, windows: windows(2), refusalThreshold: nil,
                                   countRefusal: false).verdict == .refuse)
        // More distinct lists than the table holds: each still decides on its own limit.
        for limit in 10..<(10 + RedisSharedCounters.WindowEncodings.capacity + 4) {
            let outcome = try counters.check(account: account, recipients: 1, windows: windows(limit), refusalThreshold: nil,
                                             countRefusal: false)
            #expect(outcome.verdict == .accept)
        }
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(2)).verdict == .refuse)
    }

    /// What the scripts write is what `WindowRecord` reads: the record in the
    /// account's hash, byte for byte, after a commit on a real server.
    @Test func theScriptsRecordIsWhatSwiftReads() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options, keyPrefix: "record:")
        let account = AccountName(normalized: "record")
        let windows: [RedisSharedCounters.Window] = [
            .init(name: "messages/hour", length: .seconds(3600), limit: nil, metric: .messages, role: .limit),
            .init(name: "recipients/hour", length: .seconds(3600), limit: nil, metric: .recipients, role: .limit),
        ]
        _ = try counters.commit(account: account, recipients: 3, windows: windows)
        let outcome = try counters.commit(account: account, recipients: 4, windows: windows)
        let connection = try RedisConnection(options: redis.options)
        for (window, expected) in [("messages/hour", UInt32(2)), ("recipients/hour", UInt32(7))] {
            let stored = try connection.command([Array("HGET".utf8), Array("record:windows:record".utf8), Array(window.utf8)])
            let bytes = try #require(stored.bytes)
            let record = try #require(RedisSharedCounters.WindowRecord(bytes[...]))
            #expect(record.count.current == expected)
            #expect(record.count == outcome.windows[window])
            #expect(record.bytes == bytes)
        }
    }

    @Test func aRecordReadsBackWhatItWrites() {
        for count in [SlidingWindowCount(windowStart: 0, previous: 0, current: 0),
                      SlidingWindowCount(windowStart: 1_764_777_600_000, previous: 17, current: .max),
                      SlidingWindowCount(windowStart: -86_400_000, previous: .max, current: 1)] {
            let bytes = RedisSharedCounters.WindowRecord(count: count).bytes
            #expect(bytes.count == RedisSharedCounters.WindowRecord.size)
            #expect(RedisSharedCounters.WindowRecord(bytes[...])?.count == count)
        }
    }

    /// Anything the scripts did not write is refused, not read as some count: a
    /// wrong size, or a start that is no whole number of milliseconds.
    @Test func aRecordTheScriptsDidNotWriteIsRefused() {
        let good = RedisSharedCounters.WindowRecord(count: .init(windowStart: 60_000, previous: 1, current: 2)).bytes
        #expect(RedisSharedCounters.WindowRecord([][...]) == nil)
        #expect(RedisSharedCounters.WindowRecord(good.dropLast()) == nil)
        #expect(RedisSharedCounters.WindowRecord((good + [0])[...]) == nil)
        #expect(RedisSharedCounters.WindowRecord(Array("1764777600000 0 1".utf8)[...]) == nil)
        for start in [Double.nan, .infinity, -.infinity, 1.5, 1e300] {
            var bytes = good
            for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: start.bitPattern >> (8 * UInt64(index))) }
            #expect(RedisSharedCounters.WindowRecord(bytes[...]) == nil, "start \(start)")
        }
        // A slice that does not start at index 0 (the reply's records) reads the same.
        let padded = [9, 9] + good
        #expect(RedisSharedCounters.WindowRecord(padded[2...])?.count == .init(windowStart: 60_000, previous: 1, current: 2))
    }
}
