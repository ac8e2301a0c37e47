import Foundation
import Testing
@testable import VigieCore
import VigieRedis
import VigieStore

private let alice = AccountName(normalized: "alice")
private let bob = AccountName(normalized: "bob")

private func at(_ seconds: Int64) -> UnixTime { UnixTime(seconds: 1_750_000_000 + seconds) }

/// The stores Vigie has behind `StateStore`.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, redis
    var description: String { rawValue }
}

/// One store under test, with what keeps it alive: its file's directory, or its
/// redis-server (started for the test, stopped with it).
final class StoreUnderTest {
    let store: any StateStore
    private let keepAlive: AnyObject

    init(_ kind: StoreKind) throws {
        switch kind {
        case .sqlite:
            let directory = try ScratchDirectory()
            store = try SQLiteStateStore(path: directory.path + "/state.sqlite")
            keepAlive = directory
        case .redis:
            let redis = try RedisFixture()
            store = try redis.store()
            keepAlive = redis
        }
    }
}

/// What every `StateStore` must do, checked on each of them with the same words: the
/// embedded SQLite store and the shared Redis one. What only one of them does (SQLite's
/// schema and durability, Redis's racing hosts and announcements) stays in its own
/// suite (SQLiteStateStoreTests.swift, RedisStateStoreTests.swift).
@Suite struct StateStoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func recordsALockWithItsAuditLineAndEvidence(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let lock = AccountLock(account: alice, lockedAt: at(60), actor: "vigie", reason: "12 messages in 10 s")

        let stored = try store.recordLock(lock, evidence: [("4XyZ1", at(51)), ("4XyZ2", at(55))])

        let id = try #require(stored.id)
        var expected = lock
        expected.id = id
        #expect(stored == expected)
        #expect(try store.activeLocks() == [expected])
        #expect(try store.auditTrail(account: alice) == [
            AuditEvent(at: at(60), account: "alice", action: .lock, actor: "vigie", reason: "12 messages in 10 s"),
        ])
        #expect(try store.evidence(account: alice) == [
            LockEvidence(lockID: id, queueID: "4XyZ1", acceptedAt: at(51), tripped: false),
            LockEvidence(lockID: id, queueID: "4XyZ2", acceptedAt: at(55), tripped: false),
        ])
        #expect(try store.auditTrail(account: bob).isEmpty)
        #expect(try store.evidence(account: bob).isEmpty)
    }
    @Test(arguments: StoreKind.allCases)
    func aSecondLockOfALockedAccountReturnsTheFirst(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let first = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(0), actor: "admin", reason: "password leaked"), evidence: [])

        let second = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(5), actor: "vigie", reason: "burst"), evidence: [("Q1", at(4))])

        #expect(second == first)
        #expect(try store.activeLocks() == [first])
        #expect(try store.auditTrail(account: alice).map(\.action) == [.lock])
        #expect(try store.evidence(account: alice).isEmpty)
    }
    @Test(arguments: StoreKind.allCases)
    func unlockEndsTheLockAndWritesTheAuditLine(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])

        let ended = try store.recordUnlock(account: alice, at: at(3600), actor: "root", reason: "password changed")

        #expect(ended == lock)
        #expect(try store.activeLocks().isEmpty)
        #expect(try store.auditTrail(account: alice) == [
            AuditEvent(at: at(0), account: "alice", action: .lock, actor: "vigie", reason: "burst"),
            AuditEvent(at: at(3600), account: "alice", action: .unlock, actor: "root", reason: "password changed"),
        ])
    }
    @Test(arguments: StoreKind.allCases)
    func unlockingAnAccountThatIsNotLockedWritesNothing(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        _ = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])

        #expect(try store.recordUnlock(account: bob, at: at(1), actor: "root", reason: "why not") == nil)
        #expect(try store.auditTrail(account: bob).isEmpty)
        _ = try store.recordUnlock(account: alice, at: at(2), actor: "root", reason: "done")
        #expect(try store.recordUnlock(account: alice, at: at(3), actor: "root", reason: "again") == nil)
        #expect(try store.auditTrail(account: alice).count == 2)
    }
    @Test(arguments: StoreKind.allCases)
    func relockingAfterAnUnlockMakesANewLock(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let first = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        _ = try store.recordUnlock(account: alice, at: at(10), actor: "root", reason: "ok")

        let second = try store.recordLock(AccountLock(account: alice, lockedAt: at(20), actor: "vigie", reason: "burst again"), evidence: [])

        #expect(second.id != first.id)
        #expect(try store.activeLocks() == [second])
    }
    @Test(arguments: StoreKind.allCases)
    func activeLocksAreOldestFirstAcrossAccounts(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let bobs = try store.recordLock(AccountLock(account: bob, lockedAt: at(5), actor: "vigie", reason: "b"), evidence: [])
        let alices = try store.recordLock(AccountLock(account: alice, lockedAt: at(9), actor: "vigie", reason: "a"), evidence: [])
        #expect(try store.activeLocks() == [bobs, alices])
    }
    @Test(arguments: StoreKind.allCases)
    func recordsOtherAuditActionsInOrder(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let events = [
            AuditEvent(at: at(1), account: "alice", action: .reset, actor: "root", reason: "new term"),
            AuditEvent(at: at(2), account: "alice", action: .hold, actor: "root", reason: "look at queue"),
            AuditEvent(at: at(3), account: "bob", action: .purge, actor: "root", reason: "spam"),
            AuditEvent(at: at(4), account: "alice", action: .release, actor: "root", reason: "false alarm"),
            AuditEvent(at: at(5), account: "alice", action: .trust, actor: "root", reason: "home network"),
            AuditEvent(at: at(6), account: "alice", action: .watch, actor: "vigie", reason: "score 0.6"),
        ]
        for event in events { try store.recordAudit(event) }

        #expect(try store.auditTrail(account: alice) == events.filter { $0.account == "alice" })
        #expect(try store.auditTrail(account: bob) == [events[2]])
    }
    @Test(arguments: StoreKind.allCases)
    func keepsTextExactly(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let reason = "quote ' and \"double\", percent %s, accents é, emoji 📨, newline\nend, CR LF\r\n, NUL \u{0}"
        try store.recordAudit(AuditEvent(at: at(0), account: "alice", action: .reset, actor: "ad'min", reason: reason))
        let event = try #require(try store.auditTrail(account: alice).first)
        #expect(event.reason == reason)
        #expect(event.actor == "ad'min")

        let lock = try store.recordLock(AccountLock(account: AccountName(normalized: "é x"), lockedAt: at(1), actor: "a b", reason: reason), evidence: [])
        #expect(try store.activeLocks() == [lock])
    }
    @Test(arguments: StoreKind.allCases)
    func addsTheTrippedMessageToALock(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let lock = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(10), actor: "vigie", reason: "burst"), evidence: [("A1", at(8))])
        let id = try #require(lock.id)

        let tripped = LockEvidence(lockID: id, queueID: "A2", acceptedAt: at(10), tripped: true)
        try store.addEvidence(tripped)
        try store.addEvidence(tripped)  // a retry does not duplicate it
        // A queue id already there becomes tripped, keeping its time.
        try store.addEvidence(LockEvidence(lockID: id, queueID: "A1", acceptedAt: at(99), tripped: true))

        #expect(try store.evidence(account: alice) == [
            LockEvidence(lockID: id, queueID: "A1", acceptedAt: at(8), tripped: true),
            tripped,
        ])
    }
    @Test(arguments: StoreKind.allCases)
    func evidenceListsTheNewestLockFirst(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        let old = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "first"), evidence: [("OLD2", at(-1)), ("OLD1", at(-2))])
        _ = try store.recordUnlock(account: alice, at: at(100), actor: "root", reason: "ok")
        let new = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(200), actor: "vigie", reason: "second"), evidence: [("NEW1", at(199))])
        _ = try store.recordLock(AccountLock(account: bob, lockedAt: at(300), actor: "vigie", reason: "other"), evidence: [("BOB", at(299))])

        let evidence = try store.evidence(account: alice)
        #expect(evidence.map(\.queueID) == ["NEW1", "OLD1", "OLD2"])
        #expect(evidence.map(\.lockID) == [new.id, old.id, old.id].compactMap { $0 })
    }
}

/// `loadAccount`, what a decision reads when its account left memory
/// (`[daemon] resident_accounts`): the same rows the bulk loads give, one account.
@Suite struct LoadAccountContractTests {
    @Test(arguments: StoreKind.allCases)
    func oneAccountReadsBackWhatTheFlushSaved(_ kind: StoreKind) throws {
        let subject = try StoreUnderTest(kind)
        defer { withExtendedLifetime(subject) {} }
        let store = subject.store
        var counters = AccountCounters()
        counters.messagesPerHour = SlidingWindowCount(windowStart: 3_600_000, previous: 7, current: 3)
        counters.lastActivity = 3_700_000
        var history = SendingHistory()
        history.messages = 12
        history.firstSeenHour = 480_000
        try store.saveCounters([(alice, counters), (bob, counters)])
        try store.saveHistories([(alice, history)])

        let both = try store.loadAccount(alice)
        #expect(both.counters == counters)
        #expect(both.history == history)
        let countersOnly = try store.loadAccount(bob)
        #expect(countersOnly.counters == counters)
        #expect(countersOnly.history == nil)
        let unknown = try store.loadAccount(AccountName(normalized: "nobody"))
        #expect(unknown.counters == nil && unknown.history == nil)

        try store.saveCounters([(alice, nil)])
        #expect(try store.loadAccount(alice).counters == nil)
        #expect(try store.loadAccount(alice).history == history)
    }
}
