import Foundation
import Synchronization
import Testing
import VigieCore
import VigieRedis
import VigieTestKit

/// Locks announced to every host: a subscriber on its own thread and connection.
@Suite(.serialized) struct RedisLockSubscriberTests {
    /// What the handler was given, in order.
    final class Recorder: Sendable {
        let events = Mutex<[RedisLockSubscriber.Event]>([])
        func record(_ event: RedisLockSubscriber.Event) { events.withLock { $0.append(event) } }
        var all: [RedisLockSubscriber.Event] { events.withLock { $0 } }

        func waitFor(_ what: String, timeout: TimeInterval = 2, _ matches: @escaping (RedisLockSubscriber.Event) -> Bool) throws {
            try Wait.until(what, timeout: timeout, interval: 0.01) { all.contains(where: matches) }
        }
    }

    @Test func aLockOnOneHostReachesTheOtherWithinASecond() throws {
        let redis = try RedisFixture()
        let recorder = Recorder()
        let subscriber = RedisLockSubscriber(options: redis.options, retryInterval: .milliseconds(50)) { recorder.record($0) }
        subscriber.start()
        defer { subscriber.stop() }
        try recorder.waitFor("the subscription") { $0 == .subscribed }

        let otherHost = try redis.store()
        let start = ContinuousClock.now
        let lock = try otherHost.recordLock(
            AccountLock(account: AccountName(normalized: "alice"), lockedAt: UnixTime(seconds: 1_750_000_000), actor: "vigie", reason: "burst"),
            evidence: [])
        let announced = RedisLockSubscriber.Event.announced(RedisLockAnnouncement(event: .lock, id: lock.id!, account: "alice"))
        try recorder.waitFor("the lock announcement", timeout: 1) { $0 == announced }
        #expect(ContinuousClock.now - start < .seconds(1))

        _ = try otherHost.recordUnlock(account: AccountName(normalized: "alice"), at: UnixTime(seconds: 1_750_000_100), actor: "root", reason: "ok")
        try recorder.waitFor("the unlock announcement", timeout: 1) {
            $0 == .announced(RedisLockAnnouncement(event: .unlock, id: lock.id!, account: "alice"))
        }
        // Something else on the channel is passed on as unreadable, not dropped silently.
        try redis.connection().command("PUBLISH", "vigie:lock-events", "hello")
        try recorder.waitFor("the unreadable message") { $0 == .unreadable(bytes("hello")) }
    }

    @Test func afterARestartItSubscribesAgainAndSaysSo() throws {
        let redis = try RedisFixture()
        let recorder = Recorder()
        let subscriber = RedisLockSubscriber(options: redis.options, retryInterval: .milliseconds(50)) { recorder.record($0) }
        subscriber.start()
        defer { subscriber.stop() }
        try recorder.waitFor("the subscription") { $0 == .subscribed }

        redis.server.kill9()
        try recorder.waitFor("the disconnection") {
            if case .disconnected(let error) = $0 { return error.isUnavailable }
            return false
        }
        try redis.server.start()
        try Wait.until("a second subscription", timeout: 3, interval: 0.01) {
            recorder.all.filter { $0 == .subscribed }.count == 2
        }
        let lock = try redis.store().recordLock(
            AccountLock(account: AccountName(normalized: "bob"), lockedAt: UnixTime(seconds: 1_750_000_000), actor: "vigie", reason: "burst"),
            evidence: [])
        try recorder.waitFor("the lock announcement after the restart") {
            $0 == .announced(RedisLockAnnouncement(event: .lock, id: lock.id!, account: "bob"))
        }
    }

    @Test func stopEndsTheThreadAndNothingIsHandledAfter() throws {
        let redis = try RedisFixture()
        let recorder = Recorder()
        let subscriber = RedisLockSubscriber(options: redis.options) { recorder.record($0) }
        subscriber.start()
        try recorder.waitFor("the subscription") { $0 == .subscribed }
        let stopping = try seconds { subscriber.stop() }
        #expect(stopping < 1, "stop took \(stopping) s")
        subscriber.stop()  // twice is harmless
        let before = recorder.all.count
        _ = try redis.store().recordLock(
            AccountLock(account: AccountName(normalized: "carol"), lockedAt: UnixTime(seconds: 1_750_000_000), actor: "vigie", reason: "r"),
            evidence: [])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(recorder.all.count == before)
        // The server no longer has a subscriber on the channel.
        #expect(try redis.connection().command("PUBSUB", "NUMSUB", "vigie:lock-events").elements?.last == .integer(0))
    }
}
