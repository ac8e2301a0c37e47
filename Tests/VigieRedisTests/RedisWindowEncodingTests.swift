import Testing
import VigieCore
@testable import VigieRedis

/// The counting calls' pieces that are laid out once (`WindowEncodings`) and the
/// record the scripts keep and send back (`SharedWindowsRecord`).
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

    /// What the scripts write is what `SharedWindowsRecord` reads: the account's
    /// record, byte for byte, after a commit on a real server.
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
        let bytes = try #require(try connection.command([Array("GET".utf8), Array("record:shared:record".utf8)]).bytes)
        let record = try SharedWindowsRecord(bytes[...], windows: 2, layout: SharedWindowsRecord.layout(of: windows.map(\.name)))
        #expect(record.windows.map(\.current) == [2, 7])
        #expect(record.windows[0] == outcome.windows["messages/hour"])
        #expect(record.windows[1] == outcome.windows["recipients/hour"])
        #expect(record.bytes == bytes)
    }

    /// The specification the scripts read: the layout, then 17 bytes a window.
    @Test func theSpecificationIsTheDocumentedLayout() {
        let windows: [RedisSharedCounters.Window] = [
            .init(name: "m", length: .seconds(60), limit: 5, metric: .messages, role: .limit),
            .init(name: "b", length: .seconds(600), limit: nil, metric: .recipients, role: .burst),
        ]
        let encoded = RedisSharedCounters.WindowEncodings.encode(windows)
        #expect(encoded.layout == SharedWindowsRecord.layout(of: ["m", "b"]))
        #expect(encoded.spec.count == 4 + 2 * RedisSharedCounters.WindowEncodings.specWindowSize)
        func double(_ offset: Int) -> Double {
            Double(bitPattern: (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(encoded.spec[offset + $1]) })
        }
        #expect(double(4) == 60_000 && double(12) == 5 && encoded.spec[20] == 1)
        #expect(double(21) == 600_000 && double(29) == -1 && encoded.spec[37] == 2)
    }

    @Test func aRecordReadsBackWhatItWrites() throws {
        let counts = [SlidingWindowCount(windowStart: 0, previous: 0, current: 0),
                      SlidingWindowCount(windowStart: 1_764_777_600_000, previous: 17, current: .max),
                      SlidingWindowCount(windowStart: -86_400_000, previous: .max, current: 1)]
        let record = SharedWindowsRecord(layout: 0xDEAD_BEEF, refusalsInARow: 3, windows: counts)
        let bytes = record.bytes
        #expect(bytes.count == SharedWindowsRecord.size(windows: 3))
        #expect(try SharedWindowsRecord(bytes[...], windows: 3, layout: 0xDEAD_BEEF) == record)
        // A slice that does not start at index 0 reads the same.
        let padded = [9, 9] + bytes
        #expect(try SharedWindowsRecord(padded[2...], windows: 3, layout: 0xDEAD_BEEF) == record)
    }

    /// Anything the scripts did not write is refused, not read as some count: a
    /// wrong size, another layout, or a start that is no whole number of milliseconds.
    @Test func aRecordTheScriptsDidNotWriteIsRefused() {
        let good = SharedWindowsRecord(layout: 7, windows: [.init(windowStart: 60_000, previous: 1, current: 2)]).bytes
        func problem(_ bytes: [UInt8], windows: Int = 1, layout: UInt32 = 7) -> SharedWindowsRecord.Problem? {
            do { _ = try SharedWindowsRecord(bytes[...], windows: windows, layout: layout); return nil } catch { return error }
        }
        #expect(problem([]) == .size(0, expected: 24))
        #expect(problem(good.dropLast()) == .size(23, expected: 24))
        #expect(problem(good + [0]) == .size(25, expected: 24))
        #expect(problem(good, windows: 2) == .size(24, expected: 40))
        #expect(problem(Array("1764777600000 0 1 and more".utf8)) != nil)
        #expect(problem(good, layout: 8) == .layout(7, expected: 8))
        for start in [Double.nan, .infinity, -.infinity, 1.5, 1e300, -0.0, 9_007_199_254_740_994] {
            var bytes = good
            for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: start.bitPattern >> (8 * UInt64(index))) }
            #expect(problem(bytes) == .start(window: 0), "start \(start)")
        }
        #expect(problem(good) == nil)
    }
}
