import Foundation
import Synchronization
import Testing
@testable import VigieCore
import VigieRedis

private let alice = AccountName(normalized: "alice")
private let bob = AccountName(normalized: "bob")

private func at(_ seconds: Int64) -> UnixTime { UnixTime(seconds: 1_750_000_000 + seconds) }

/// The same expectations as the SQLite store's (Tests/VigieStoreTests/SQLiteStateStoreTests.swift),
/// against a real redis-server, plus what only a shared store must do: ids unique
/// across hosts, one lock when hosts race, announcements.
@Suite struct RedisLockTests {
    @Test func anEndedLockKeepsWhoEndedItAndWhy() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        let lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        _ = try store.recordUnlock(account: alice, at: at(3600), actor: "root", reason: "password changed")
        // The ended lock keeps who ended it and why, for vigiectl on any host.
        let fields = try redis.connection().command("HGETALL", "vigie:lock:\(try #require(lock.id))").elements?.compactMap(\.text) ?? []
        let values = Dictionary(uniqueKeysWithValues: stride(from: 0, to: fields.count, by: 2).map { (fields[$0], fields[$0 + 1]) })
        #expect(values["unlocked_at"] == String(at(3600).milliseconds))
        #expect(values["unlocked_by"] == "root")
        #expect(values["unlock_reason"] == "password changed")
    }



    @Test func twoHostsCannotBothLockAnAccount() throws {
        let redis = try RedisFixture()
        let hostA = try redis.store()
        let hostB = try redis.store()

        let byA = try hostA.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "root", reason: "manual"), evidence: [])
        let byB = try hostB.recordLock(AccountLock(account: alice, lockedAt: at(1), actor: "vigie", reason: "burst"), evidence: [])

        #expect(byB == byA)
        #expect(try hostB.activeLocks() == [byA])
        #expect(try hostA.auditTrail(account: alice).count == 1)
    }

    @Test func racingHostsMakeOneLockAndOneAuditLine() throws {
        let redis = try RedisFixture()
        let hosts = try (0..<4).map { _ in try redis.store() }
        let results = Mutex<[AccountLock]>([])
        DispatchQueue.concurrentPerform(iterations: 40) { attempt in
            let host = hosts[attempt % hosts.count]
            let lock = AccountLock(account: alice, lockedAt: at(Int64(attempt)), actor: "vigie", reason: "burst \(attempt)")
            if let stored = try? host.recordLock(lock, evidence: [("Q\(attempt)", at(Int64(attempt)))]) {
                results.withLock { $0.append(stored) }
            }
        }
        let stored = results.withLock { $0 }
        #expect(stored.count == 40)
        let winner = try #require(stored.first)
        #expect(stored.allSatisfy { $0 == winner })
        #expect(try hosts[0].activeLocks() == [winner])
        #expect(try hosts[0].auditTrail(account: alice).count == 1)
        #expect(try hosts[0].auditTrail(account: alice).first?.reason == winner.reason)
        #expect(try hosts[0].evidence(account: alice).count == 1)
    }

    @Test func lockIDsAreUniqueAcrossHosts() throws {
        let redis = try RedisFixture()
        let hostA = try redis.store()
        let hostB = try redis.store()
        let ids = Mutex<[Int64]>([])
        DispatchQueue.concurrentPerform(iterations: 50) { index in
            let host = index % 2 == 0 ? hostA : hostB
            let account = AccountName(normalized: "user\(index)")
            if let id = try? host.recordLock(AccountLock(account: account, lockedAt: at(0), actor: "vigie", reason: "r"), evidence: []).id {
                ids.withLock { $0.append(id) }
            }
        }
        let all = ids.withLock { $0 }
        #expect(all.count == 50)
        #expect(Set(all).count == 50)
        #expect(try hostA.activeLocks().count == 50)
    }

    @Test func aLockWriteIsAllOrNothing() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        let raw = try redis.connection()
        // A key of the wrong type where the audit line must go: the script stops
        // before writing anything, rather than leaving a lock without its audit line.
        try raw.command("SET", "vigie:audit:alice", "not a list")

        let error = try #require(throws: RedisError.self) {
            try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [("Q", at(0))])
        }
        #expect(error.kind == .server)
        #expect(error.description.contains("WRONGTYPE"))
        #expect(error.description.contains("cannot record the lock of alice in redis unix:"))
        #expect(try store.activeLocks().isEmpty)
        #expect(try raw.command("EXISTS", "vigie:lock-id", "vigie:lock:1", "vigie:evidence:1", "vigie:account-locks:alice") == .integer(0))
        #expect(try raw.command("HLEN", "vigie:locks") == .integer(0))
    }


    @Test func unlockOnOneHostUnlocksEverywhere() throws {
        let redis = try RedisFixture()
        let hostA = try redis.store()
        let hostB = try redis.store()
        let lock = try hostA.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        #expect(try hostB.activeLocks() == [lock])
        #expect(try hostB.recordUnlock(account: alice, at: at(5), actor: "root", reason: "ok") == lock)
        #expect(try hostA.activeLocks().isEmpty)
        #expect(try hostA.recordUnlock(account: alice, at: at(6), actor: "root", reason: "again") == nil)
    }




    @Test func locksAndUnlocksAreAnnounced() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        let listener = try redis.connection()
        try listener.subscribe([bytes("vigie:lock-events")])

        let lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        _ = try store.recordLock(AccountLock(account: alice, lockedAt: at(1), actor: "vigie", reason: "again"), evidence: [])
        _ = try store.recordUnlock(account: alice, at: at(2), actor: "root", reason: "ok")
        _ = try store.recordUnlock(account: alice, at: at(3), actor: "root", reason: "again")

        var announcements: [RedisLockAnnouncement] = []
        while let message = try listener.nextMessage(timeout: .milliseconds(300)) {
            let payload = try #require(message.elements?.last?.bytes)
            announcements.append(try JSONDecoder().decode(RedisLockAnnouncement.self, from: Data(payload)))
        }
        let id = try #require(lock.id)
        // Nothing for the lock that was already there, nor for the unlock of an unlocked account.
        #expect(announcements == [
            RedisLockAnnouncement(event: .lock, id: id, account: "alice"),
            RedisLockAnnouncement(event: .unlock, id: id, account: "alice"),
        ])
    }

    @Test func prefixesKeepInstallationsApart() throws {
        let redis = try RedisFixture()
        let one = try redis.store(prefix: "one:")
        let two = try redis.store(prefix: "two:")
        _ = try one.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        #expect(try two.activeLocks().isEmpty)
        #expect(try two.auditTrail(account: alice).isEmpty)
        let keys = try redis.connection().command("KEYS", "*").elements?.compactMap(\.text) ?? []
        #expect(!keys.isEmpty)
        #expect(keys.allSatisfy { $0.hasPrefix("one:") })
    }
}

@Suite struct RedisAuditAndEvidenceTests {


    @Test func anAuditLineThisVigieCannotReadIsAClearError() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        try store.recordAudit(AuditEvent(at: at(0), account: "alice", action: .reset, actor: "root", reason: "r"))
        try redis.connection().command("RPUSH", "vigie:audit:alice", #"{"action":"teleport"}"#)
        let error = try #require(throws: RedisError.self) { try store.auditTrail(account: alice) }
        #expect(error.kind == .data)
        #expect(error.description.contains("entry 1 of vigie:audit:alice"))
    }


    @Test func evidenceForAnUnknownLockIsRefused() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        let error = try #require(throws: RedisError.self) {
            try store.addEvidence(LockEvidence(lockID: 42, queueID: "Q", acceptedAt: at(0), tripped: true))
        }
        #expect(error.kind == .constraint)
        #expect(error.description.contains("cannot record evidence Q for lock 42 in redis"))
        #expect(try redis.connection().command("EXISTS", "vigie:evidence:42") == .integer(0))
    }

}

@Suite struct RedisSnapshotTests {
    /// Every field different, extremes included, as the SQLite store's snapshot tests do.
    static func distinctCounters(seed: Int64) -> AccountCounters {
        var counters = AccountCounters()
        counters.messagesPerMinute = SlidingWindowCount(windowStart: 1_750_000_000_000 + seed, previous: 1, current: 2)
        counters.messagesPerHour = SlidingWindowCount(windowStart: 1_749_999_600_000 + seed, previous: 3, current: 4)
        counters.messagesPerDay = SlidingWindowCount(windowStart: 1_749_945_600_000 + seed, previous: 5, current: 6)
        counters.recipientsPerMinute = SlidingWindowCount(windowStart: Int64.min, previous: 7, current: 8)
        counters.recipientsPerHour = SlidingWindowCount(windowStart: -1, previous: 0x0102_0304, current: 0x0506_0708)
        counters.recipientsPerDay = SlidingWindowCount(windowStart: Int64.max, previous: UInt32.max, current: UInt32.max - 1)
        counters.burstMessages = SlidingWindowCount(windowStart: 42, previous: UInt32.max - 2, current: 9)
        counters.burstRecipients = SlidingWindowCount(windowStart: 43, previous: 10, current: UInt32.max - 3)
        counters.refusalsInARow = UInt32.max - 4
        counters.lastActivity = 1_750_000_000_999 + seed
        return counters
    }

    @Test func countersRoundTripAndNilDeletes() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        try store.saveCounters([(alice, Self.distinctCounters(seed: 1)), (bob, Self.distinctCounters(seed: 2))])
        try store.saveCounters([(bob, nil), (alice, Self.distinctCounters(seed: 3))])

        let loaded = try redis.store().loadCounters()
        #expect(loaded.count == 1)
        #expect(loaded.first?.0 == alice)
        #expect(loaded.first?.1 == Self.distinctCounters(seed: 3))
        try store.saveCounters([])
    }

    @Test func countersAreTheSameBytesAsTheSQLiteStore() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        let counters = Self.distinctCounters(seed: 7)
        try store.saveCounters([(alice, counters)])
        let expected = counters.snapshotBytes()
        #expect(try redis.connection().command("HGET", "vigie:counters", "alice") == .bulk(expected))
    }

    @Test func aFlushOfManyAccountsIsOneTransaction() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        let changes = (0..<3000).map { (AccountName(normalized: "user\($0)"), Optional(Self.distinctCounters(seed: Int64($0)))) }
        try store.saveCounters(changes)
        let loaded = Dictionary(uniqueKeysWithValues: try store.loadCounters().map { ($0.0.value, $0.1) })
        #expect(loaded.count == 3000)
        #expect(loaded["user2999"] == Self.distinctCounters(seed: 2999))

        // A refused command inside the transaction writes nothing at all.
        try redis.connection().command("SET", "vigie:histories", "not a hash")
        let history = SendingHistory()
        let error = try #require(throws: RedisError.self) {
            try store.saveHistories((0..<1500).map { (AccountName(normalized: "user\($0)"), history) })
        }
        #expect(error.kind == .server)
        #expect(error.description.contains("cannot save the sending histories of 1500 accounts"))
        #expect(try redis.connection().command("GET", "vigie:histories") == .bulk(bytes("not a hash")))
    }

    @Test func anUnreadableCounterSnapshotIsSkipped() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        try store.saveCounters([(alice, Self.distinctCounters(seed: 1))])
        try redis.connection().command([bytes("HSET"), bytes("vigie:counters"), bytes("bob"), [2, 0, 3]])
        let (counters, unreadable) = try store.loadCountersSkippingUnreadable()
        #expect(counters.map(\.0) == [alice])
        #expect(unreadable == [bob])
    }

    @Test func historiesRoundTripAndAnUnreadableOneIsSkipped() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        var history = SendingHistory()
        history.messages = 12
        history.firstSeenHour = 480_000
        try store.saveHistories([(alice, history), (bob, SendingHistory())])
        try store.saveHistories([(bob, nil)])
        try redis.connection().command([bytes("HSET"), bytes("vigie:histories"), bytes("carol"), [1, 2, 3]])

        let loaded = try store.loadHistories()
        #expect(loaded.count == 1)
        #expect(loaded.first?.0 == alice)
        #expect(loaded.first?.1 == history)
    }

    @Test func aRestartedStoreKeepsEverythingTheServerKept() throws {
        let redis = try RedisFixture()
        var counters = AccountCounters()
        counters.messagesPerHour = SlidingWindowCount(windowStart: 3_600_000, previous: 7, current: 3)
        let lock: AccountLock
        do {
            let store = try redis.store()
            lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [("Q1", at(-1))])
            try store.recordAudit(AuditEvent(at: at(3), account: "alice", action: .hold, actor: "root", reason: "hold queue"))
            try store.saveCounters([(alice, counters)])
        }
        let reopened = try redis.store()
        #expect(try reopened.activeLocks() == [lock])
        #expect(try reopened.auditTrail(account: alice).map(\.action) == [.lock, .hold])
        #expect(try reopened.evidence(account: alice).map(\.queueID) == ["Q1"])
        #expect(try reopened.loadCounters().first?.1 == counters)
    }

    @Test func aStoreCallAgainstADeadServerFailsAsUnavailable() throws {
        let redis = try RedisFixture()
        let store = try redis.store()
        redis.server.kill9()
        let error = try #require(throws: RedisError.self) { try store.activeLocks() }
        #expect(error.isUnavailable)
        #expect(error.description.contains("cannot read the locks in force in redis unix:"))
        try redis.server.start()
        #expect(try store.activeLocks().isEmpty)
    }
}
