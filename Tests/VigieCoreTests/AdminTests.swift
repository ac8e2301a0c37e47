import Testing
import VigieCore

/// What an admin does with `vigiectl`: lock, unlock, reset, with an audit trail.
@Suite("Admin actions")
struct AdminTests {
    static let settings = PolicySettings.only(
        .numbers(messages: [.hour: 5]),
        burst: BurstRule(messages: 4, recipients: nil, window: .seconds(600), refusalsInARow: 10))

    /// Alice over her burst threshold: locked by Vigie after four messages.
    static func lockedHarness() throws -> (Harness, AccountLock) {
        let h = Harness(settings)
        for index in 1...4 {
            #expect(h.send(.alice, queueID: "Q\(index)") == .accept)
        }
        let (lock, _) = try #require(h.send(.alice, queueID: "Q5").newLock)
        return (h, lock)
    }

    @Test func unlockLetsTheMemberSendAgainAndIsAudited() throws {
        let (h, lock) = try Self.lockedHarness()
        h.clock.advance(by: .seconds(300))

        let ended = try h.policy.unlock(account: .alice, actor: "marie", reason: "password changed")
        #expect(ended == lock)
        #expect(h.policy.lock(of: .alice) == nil)
        #expect(try h.store.activeLocks().isEmpty)

        // Counters were cleared: the attacker's messages do not keep her over the
        // hourly limit (4 of 5 used) nor re-trip the burst rule (4 of 4).
        for index in 1...4 {
            #expect(h.send(.alice, queueID: "AFTER\(index)") == .accept)
        }

        let trail = try h.store.auditTrail(account: .alice)
        #expect(trail.map(\.action) == [.lock, .unlock])
        #expect(trail.map(\.actor) == ["vigie", "marie"])
        #expect(trail[0].reason == lock.reason)
        #expect(trail[1].reason == "password changed")
        #expect(trail[1].at == UnixTime.testStart + .seconds(300))
        #expect(try h.policy.report(account: .alice).history == trail)
    }

    @Test func unlockingAnUnlockedAccountReturnsNil() throws {
        let h = Harness(Self.settings)
        #expect(try h.policy.unlock(account: .bob, actor: "marie", reason: "check") == nil)
        h.send(.bob, queueID: "B1")
        #expect(try h.policy.unlock(account: .bob, actor: "marie", reason: "check") == nil)
    }

    @Test func manualLockAndUnlock() throws {
        let h = Harness(Self.settings)
        let lock = try #require(try h.policy.lock(account: .bob, actor: "marie", reason: "suspicious logins"))
        #expect(lock.id != nil)
        #expect(lock.actor == "marie")
        #expect(lock.reason == "suspicious logins")
        #expect(try h.policy.lock(account: .bob, actor: "paul", reason: "again") == nil, "already locked")
        #expect(h.policy.check(account: .bob, recipients: 1, countsAsRefusal: true) == .locked(lock))
        #expect(h.policy.activeLocks() == [lock])

        #expect(try h.policy.unlock(account: .bob, actor: "paul", reason: "owner reached") == lock)
        #expect(h.send(.bob, queueID: "B1") == .accept)
        let trail = try h.store.auditTrail(account: .bob)
        #expect(trail.map(\.action) == [.lock, .unlock])
        #expect(trail.map(\.actor) == ["marie", "paul"])
    }

    @Test func aManualLockTheStoreRefusesIsNotInForce() throws {
        let h = Harness(Self.settings)
        h.store.fail(.recordLock)
        #expect(throws: MemoryStateStore.StoreDown.self) {
            try h.policy.lock(account: .bob, actor: "marie", reason: "test")
        }
        #expect(h.policy.lock(of: .bob) == nil)
        #expect(h.send(.bob, queueID: "B1") == .accept)
        h.store.heal()
        #expect(try h.policy.lock(account: .bob, actor: "marie", reason: "test") != nil)
    }

    @Test func anUnlockTheStoreRefusesLeavesTheLock() throws {
        let (h, lock) = try Self.lockedHarness()
        h.store.fail(.recordUnlock)
        #expect(throws: MemoryStateStore.StoreDown.self) {
            try h.policy.unlock(account: .alice, actor: "marie", reason: "password changed")
        }
        #expect(h.policy.lock(of: .alice) == lock)
    }

    @Test func unlockEndsALockThatWasNeverStored() throws {
        let h = Harness(Self.settings)
        h.store.fail(.recordLock)
        for index in 1...4 { h.send(.alice, queueID: "Q\(index)") }
        #expect(h.send(.alice, queueID: "Q5").newLock != nil)
        h.store.heal()
        #expect(try h.policy.unlock(account: .alice, actor: "marie", reason: "store was down") != nil)
        #expect(h.send(.alice, queueID: "Q6") == .accept)
    }

    @Test func resetClearsCountersButNotTheLock() throws {
        let h = Harness(Self.settings)
        for index in 1...3 { h.send(.bob, queueID: "B\(index)") }
        #expect(try h.used(.bob, .messages, .hour) == 3)
        try h.policy.reset(account: .bob, actor: "marie", reason: "mass mailing was agreed")
        #expect(try h.used(.bob, .messages, .hour) == 0)
        let trail = try h.store.auditTrail(account: .bob)
        #expect(trail.map(\.action) == [.reset])
        #expect(trail.first?.actor == "marie")

        let (locked, lock) = try Self.lockedHarness()
        try locked.policy.reset(account: .alice, actor: "marie", reason: "counters only")
        #expect(locked.policy.lock(of: .alice) == lock)
        #expect(locked.policy.check(account: .alice, recipients: 1, countsAsRefusal: false).isLocked)
    }
}
