import Testing
import VigieCore

/// A burst lock taken while the store fails (a full disk) is enforced in memory at
/// once; it must also reach the store once the store works again, and survive a
/// restart then, instead of being gone.
@Suite("Locks the store could not write")
struct UnstoredLockTests {
    static let settings = PersistenceTests.settings

    @Test func aLockTakenWhileTheStoreFailsIsWrittenOnceItWorksAndSurvivesARestart() throws {
        let h = Harness(Self.settings)
        for index in 1...4 { h.send(.bob, queueID: "B\(index)") }
        h.store.fail(.recordLock, .addEvidence)
        let (lock, _) = try #require(h.send(.bob, queueID: "B5").newLock)
        #expect(lock.id == nil)
        #expect(h.policy.check(account: .bob, recipients: 1, countsAsRefusal: true).isLocked, "enforced in memory at once")
        #expect(h.policy.unstoredLockCount == 1)
        // The tripping message's queue id arrives at end of message, store still down.
        h.policy.recordTrippedMessage(lock: lock, queueID: "B5")

        // Still failing: retried, kept.
        #expect(h.policy.storeUnstoredLocks() == 1)
        #expect(h.policy.storeHealth.lastError != nil)

        h.store.heal()
        #expect(h.policy.storeUnstoredLocks() == 0)
        #expect(h.policy.unstoredLockCount == 0)
        #expect(h.policy.storeHealth.lastError == nil)
        let stored = try #require(h.policy.lock(of: .bob))
        #expect(stored.id != nil, "memory now has the stored lock's id")
        #expect(try h.store.evidence(account: .bob).map(\.queueID) == ["B1", "B2", "B3", "B4", "B5"])
        #expect(try h.store.evidence(account: .bob).first { $0.queueID == "B5" }?.tripped == true)

        let restarted = h.restarted()
        try restarted.restore()
        #expect(restarted.lock(of: .bob)?.reason == lock.reason)
        #expect(restarted.check(account: .bob, recipients: 1, countsAsRefusal: true).isLocked)
    }

    @Test func withoutTheRetryTheLockIsGoneAfterARestart() throws {
        // The control: what the daemon did before, and what a failing store at stop still does.
        let h = Harness(Self.settings)
        for index in 1...4 { h.send(.bob, queueID: "B\(index)") }
        h.store.fail(.recordLock)
        #expect(h.send(.bob, queueID: "B5").newLock != nil)
        h.store.heal()
        let restarted = h.restarted()
        try restarted.restore()
        #expect(restarted.lock(of: .bob) == nil)
        #expect(h.policy.unstoredLockCount == 1, "and the running policy knows it has one to write")
    }

    @Test func anUnlockBeforeTheRetryDropsTheUnstoredLock() throws {
        let h = Harness(Self.settings)
        for index in 1...4 { h.send(.bob, queueID: "B\(index)") }
        h.store.fail(.recordLock)
        #expect(h.send(.bob, queueID: "B5").newLock != nil)
        h.store.heal()
        _ = try h.policy.unlock(account: .bob, actor: "marie", reason: "false alarm")

        #expect(h.policy.unstoredLockCount == 0)
        #expect(h.policy.storeUnstoredLocks() == 0)
        #expect(try h.store.activeLocks().isEmpty, "the admin's unlock stands")
        #expect(h.policy.lock(of: .bob) == nil)
    }

    @Test func aFailedCounterFlushIsReportedAndClearedBySuccess() {
        let h = Harness(Self.settings)
        h.send(.alice, queueID: "A1")
        h.store.fail(.saveCounters)
        h.policy.flushCounters()
        #expect(h.policy.storeHealth.lastError?.contains("saving counters") == true)
        h.store.heal()
        h.policy.flushCounters()
        #expect(h.policy.storeHealth.lastError == nil)
    }
}
