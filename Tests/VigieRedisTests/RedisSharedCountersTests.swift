import Foundation
import Synchronization
import Testing
import VigieCore
@testable import VigieRedis

private let alice = AccountName(normalized: "alice")

/// Counting on a real redis-server, several connections standing for several hosts.
@Suite struct RedisSharedCountersTests {
    static func windows(messagesPerMinute: Int? = nil, recipientsPerDay: Int? = nil, burstMessages: Int? = nil) -> [RedisSharedCounters.Window] {
        [
            .init(name: "messages/minute", length: .seconds(60), limit: messagesPerMinute, metric: .messages, role: .limit),
            .init(name: "recipients/day", length: .seconds(86_400), limit: recipientsPerDay, metric: .recipients, role: .limit),
            .init(name: "burst/messages", length: .seconds(600), limit: burstMessages, metric: .messages, role: .burst),
        ]
    }

    @Test func twoHostsCountOneTotal() throws {
        let redis = try RedisFixture()
        let hostA = try RedisSharedCounters(options: redis.options)
        let hostB = try RedisSharedCounters(options: redis.options)
        let windows = Self.windows(messagesPerMinute: 3)

        #expect(try hostA.commit(account: alice, recipients: 2, windows: windows).verdict == .accept)
        #expect(try hostB.commit(account: alice, recipients: 5, windows: windows).verdict == .accept)
        let third = try hostA.commit(account: alice, recipients: 1, windows: windows)
        #expect(third.verdict == .accept)
        #expect(third.windows["messages/minute"]?.current == 3)
        #expect(third.windows["recipients/day"]?.current == 8)

        let fourth = try hostB.commit(account: alice, recipients: 1, windows: windows)
        #expect(fourth.verdict == .refuse)
        #expect(fourth.overflowing == ["messages/minute"])
        // Nothing was counted for the refused message.
        #expect(fourth.windows["messages/minute"]?.current == 3)
        #expect(try hostA.check(account: alice, recipients: 1, windows: windows, refusalThreshold: nil, countRefusal: false)
            .windows["recipients/day"]?.current == 8)
    }

    @Test func aCheckCountsNothingButTheFirstRefusal() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let windows = Self.windows(messagesPerMinute: 1)
        for _ in 0..<5 {
            let outcome = try counters.check(account: alice, recipients: 3, windows: windows, refusalThreshold: nil, countRefusal: true)
            #expect(outcome.verdict == .accept)
            #expect(outcome.windows["messages/minute"]?.current == 0)
        }
        #expect(try counters.commit(account: alice, recipients: 3, windows: windows).verdict == .accept)

        // Over the limit: each first refusal of a message counts; the third in a row is the burst rule's.
        let first = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: 3, countRefusal: true)
        #expect(first.verdict == .refuse)
        #expect(first.refusalsInARow == 1)
        _ = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: 3, countRefusal: false)
        let second = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: 3, countRefusal: true)
        #expect(second.refusalsInARow == 2)
        #expect(second.verdict == .refuse)
        let third = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: 3, countRefusal: true)
        #expect(third.refusalsInARow == 3)
        #expect(third.verdict == .burst)
    }

    @Test func theBurstRuleLetsTheMessageInAndCountsIt() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let windows = Self.windows(burstMessages: 2)
        #expect(try counters.commit(account: alice, recipients: 1, windows: windows).verdict == .accept)
        #expect(try counters.commit(account: alice, recipients: 1, windows: windows).verdict == .accept)
        #expect(try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: nil, countRefusal: false).verdict == .burst)
        let third = try counters.commit(account: alice, recipients: 1, windows: windows)
        #expect(third.verdict == .burst)
        #expect(third.overflowing == ["burst/messages"])
        #expect(third.windows["burst/messages"]?.current == 3)
    }

    @Test func racingHostsNeverCountPastTheLimit() throws {
        let redis = try RedisFixture()
        let hosts = try (0..<3).map { _ in try RedisSharedCounters(options: redis.options) }
        let windows = Self.windows(messagesPerMinute: 25)
        let accepted = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 60) { index in
            do {
                if try hosts[index % hosts.count].commit(account: alice, recipients: 1, windows: windows).verdict == .accept {
                    accepted.add(1, ordering: .relaxed)
                }
            } catch {
                failures.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(accepted.load(ordering: .relaxed) == 25)
    }

    @Test func windowsFollowTheServersClockAndTheKeyExpires() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let outcome = try counters.commit(account: alice, recipients: 1, windows: Self.windows())
        // The server's TIME: on this machine, within a few seconds of ours.
        let local = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(outcome.now.milliseconds - local) < 5000)
        let minute = try #require(outcome.windows["messages/minute"])
        #expect(minute.windowStart == outcome.now.milliseconds - outcome.now.milliseconds % 60_000)
        let day = try #require(outcome.windows["recipients/day"])
        #expect(day.windowStart % 86_400_000 == 0)

        // Twice the longest window (a day): the count decays through the next fixed window.
        let ttl = try #require(try redis.connection().command("PTTL", "vigie:shared:alice").integer)
        #expect(ttl > 2 * 86_400_000 - 10_000 && ttl <= 2 * 86_400_000, "PTTL \(ttl)")
        let windows = Self.windows()
        let stored = try #require(try redis.connection().command("GET", "vigie:shared:alice").bytes)
        let record = try SharedWindowsRecord(stored[...], windows: windows.count,
                                             layout: SharedWindowsRecord.layout(of: windows.map(\.name)))
        #expect(record.windows[1] == day)
    }

    @Test func theEstimateMatchesThePolicysSlidingWindow() throws {
        // Seed the previous minute by hand, then let the script decide: its answer
        // must be SlidingWindowCount.fits at the server's time.
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let windows = [RedisSharedCounters.Window(name: "m", length: .seconds(60), limit: 10, metric: .messages, role: .limit)]
        let now = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: nil, countRefusal: false).now.milliseconds
        let currentStart = now - now % 60_000
        let seeded = SharedWindowsRecord(layout: SharedWindowsRecord.layout(of: ["m"]),
                                         windows: [.init(windowStart: currentStart - 60_000, previous: 3, current: 16)])
        _ = try redis.connection().command([bytes("SET"), bytes("vigie:shared:alice"), seeded.bytes])
        let outcome = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: nil, countRefusal: false)
        var expected = SlidingWindowCount(windowStart: currentStart - 60_000, previous: 3, current: 16)
        expected.advance(to: outcome.now.milliseconds, length: 60_000)
        #expect(outcome.windows["m"] == expected)
        let fits = expected.fits(1, under: 10, at: outcome.now.milliseconds, length: 60_000)
        #expect(outcome.verdict == (fits ? .accept : .refuse))
    }

    @Test func badWindowsAreRefusedBeforeAnythingIsSent() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let tooMany: [RedisSharedCounters.Window] = (0..<53).map { index in
            RedisSharedCounters.Window(name: "m\(index)", length: .seconds(60), limit: 1, metric: .messages, role: .limit)
        }
        let cases: [([RedisSharedCounters.Window], String)] = [
            ([], "no windows"),
            ([.init(name: "m", length: .milliseconds(10), limit: 1, metric: .messages, role: .limit)], "at least 1 s"),
            ([.init(name: "", length: .seconds(60), limit: 1, metric: .messages, role: .limit)], "non-empty"),
            (tooMany, "at most 52"),
            (Array(repeating: .init(name: "m", length: .seconds(60), limit: 1, metric: .messages, role: .limit), count: 2), "unique"),
            ([.init(name: "m", length: .seconds(60), limit: -1, metric: .messages, role: .limit)], "at least 0"),
        ]
        for (windows, expected) in cases {
            let error = try #require(throws: RedisError.self) { try counters.commit(account: alice, recipients: 1, windows: windows) }
            #expect(error.kind == .configuration)
            #expect(error.description.contains(expected), "\(error)")
        }
        #expect(try redis.connection().command("EXISTS", "vigie:shared:alice") == .integer(0))
    }

    @Test func reconciliationAddsMessagesAndRecipientsToTheirOwnWindows() throws {
        // One recipient in all: the recipients window must get 1, the messages window 3.
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let windows = Self.windows()
        try counters.add(account: alice, messages: 3, recipients: 1, windows: windows)
        let after = try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: nil, countRefusal: false)
        #expect(after.windows["messages/minute"]?.current == 3)
        #expect(after.windows["recipients/day"]?.current == 1)
        #expect(after.windows["burst/messages"]?.current == 3)
    }

    @Test func aCommitWritesOneRecordForAllWindows() throws {
        // One string: the layout, refusals in a row, then each window in the order sent.
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let windows = Self.windows(messagesPerMinute: 100)
        _ = try counters.commit(account: alice, recipients: 2, windows: windows)
        let second = try counters.commit(account: alice, recipients: 2, windows: windows)
        #expect(second.windows["messages/minute"]?.current == 2)
        #expect(second.windows["recipients/day"]?.current == 4)
        #expect(try redis.connection().command("TYPE", "vigie:shared:alice").text == "string")
        let stored = try #require(try redis.connection().command("GET", "vigie:shared:alice").bytes)
        #expect(stored.count == SharedWindowsRecord.size(windows: windows.count))
        let record = try SharedWindowsRecord(stored[...], windows: windows.count,
                                             layout: SharedWindowsRecord.layout(of: windows.map(\.name)))
        #expect(record.windows.map(\.current) == [2, 4, 2])
        #expect(record.refusalsInARow == 0)
    }

    /// A record of another list of windows (another Vigie version, another program
    /// under the prefix) is refused with what it is, never read as these counts:
    /// both by the RCPT read and by the scripts.
    @Test func aRecordOfAnotherListOfWindowsIsRefused() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let windows = Self.windows(messagesPerMinute: 100)
        let other = SharedWindowsRecord(layout: SharedWindowsRecord.layout(of: ["a", "b", "c"]),
                                        windows: Array(repeating: .init(windowStart: 0, previous: 0, current: 7), count: 3))
        _ = try redis.connection().command([bytes("SET"), bytes("vigie:shared:alice"), other.bytes])
        let read = try #require(throws: RedisError.self) {
            try counters.check(account: alice, recipients: 1, windows: windows, refusalThreshold: nil, countRefusal: false)
        }
        #expect(read.kind == .protocol && read.description.contains("another list of windows"), "\(read)")
        let script = try #require(throws: RedisError.self) { try counters.commit(account: alice, recipients: 1, windows: windows) }
        #expect(script.kind == .server && script.description.contains("another list of windows"), "\(script)")
        _ = try redis.connection().command([bytes("SET"), bytes("vigie:shared:alice"), bytes("garbage")])
        let short = try #require(throws: RedisError.self) { try counters.commit(account: alice, recipients: 1, windows: windows) }
        #expect(short.description.contains("hold 7 bytes"), "\(short)")
        #expect(try redis.connection().command("GET", "vigie:shared:alice").bytes == bytes("garbage"))
    }

    @Test func concurrentDecisionsEachTakeAConnectionUpToThePoolsSize() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options, connections: 6)
        let windows = Self.windows(messagesPerMinute: 1_000_000)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 400) { index in
            do {
                _ = try counters.commit(account: AccountName(normalized: "member\(index % 7)"), recipients: 1, windows: windows)
            } catch {
                failures.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        // CLIENT LIST: the pool's connections and the one asking.
        let clients = try #require(try redis.connection().command("CLIENT", "LIST").text)
        let open = clients.split(separator: "\n").count - 1
        #expect(open >= 1 && open <= 6, "\(open) connections")
        let total = try counters.check(account: AccountName(normalized: "member0"), recipients: 1, windows: windows,
                                       refusalThreshold: nil, countRefusal: false)
        #expect(total.windows["messages/minute"]?.current == 58)
    }
}
