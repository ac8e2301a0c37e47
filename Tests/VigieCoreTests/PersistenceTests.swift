import Testing
import VigieCore

/// Flushing counters and restoring them with the locks, as across a daemon restart.
@Suite("Restore after restart")
struct PersistenceTests {
    static let settings = PolicySettings.only(
        .numbers(messages: [.hour: 5]),
        burst: BurstRule(messages: 4, recipients: nil, window: .seconds(600), refusalsInARow: 10))

    @Test func locksAndCountersSurviveARestart() throws {
        let h = Harness(Self.settings)
        for index in 1...3 { #expect(h.send(.alice, queueID: "A\(index)") == .accept) }
        for index in 1...4 { h.send(.bob, queueID: "B\(index)") }
        let (lock, _) = try #require(h.send(.bob, queueID: "B5").newLock)
        #expect(h.policy.flushCounters() >= 2)
        #expect(h.store.savedCounters(of: .alice)?.messagesPerHour.current == 3)

        // Twenty minutes later: the 10-minute burst windows are empty, the hour is not.
        h.clock.advance(by: .seconds(1200))
        let restarted = h.restarted()
        try restarted.restore()

        #expect(restarted.lock(of: .bob) == lock)
        #expect(restarted.check(account: .bob, recipients: 1, countsAsRefusal: true) == .locked(lock))
        // Alice had 3 of her 5 messages per hour: two more, then the limit.
        #expect(restarted.commit(account: .alice, recipients: 1, queueID: "A4") == .accept)
        #expect(restarted.commit(account: .alice, recipients: 1, queueID: "A5") == .accept)
        #expect(restarted.commit(account: .alice, recipients: 1, queueID: "A6").breach?.kind == .window(.messages, .hour))
    }

    @Test func burstCountersSurviveARestartButNotTheirEvidence() throws {
        let h = Harness(Self.settings)
        for index in 1...3 { #expect(h.send(.alice, queueID: "A\(index)") == .accept) }
        h.policy.flushCounters()
        h.clock.advance(by: .seconds(30))
        let restarted = h.restarted()
        try restarted.restore()

        #expect(restarted.commit(account: .alice, recipients: 1, queueID: "A4") == .accept)
        let (_, trigger) = try #require(restarted.commit(account: .alice, recipients: 1, queueID: "A5").newLock)
        #expect(trigger == .messages(count: 5, limit: 4, window: .seconds(600)))
        // Known limitation (SendPolicy's doc): queue ids are kept in memory only.
        #expect(try h.store.evidence(account: .alice).map(\.queueID) == ["A4"])
    }

    @Test func withoutAFlushTheCountingIsLost() throws {
        let h = Harness(Self.settings)
        for index in 1...3 { h.send(.alice, queueID: "A\(index)") }
        let restarted = h.restarted()
        try restarted.restore()
        #expect(try restarted.report(account: .alice).usage.allSatisfy { $0.used == 0 })
    }

    @Test func anUnlockedAccountIsNotLockedAgainAfterRestart() throws {
        let h = Harness(Self.settings)
        for index in 1...4 { h.send(.bob, queueID: "B\(index)") }
        #expect(h.send(.bob, queueID: "B5").newLock != nil)
        _ = try h.policy.unlock(account: .bob, actor: "marie", reason: "password changed")
        h.policy.flushCounters()

        let restarted = h.restarted()
        try restarted.restore()
        #expect(restarted.lock(of: .bob) == nil)
        // The unlock cleared the counters, and the cleared counters were saved.
        #expect(restarted.commit(account: .bob, recipients: 1, queueID: "B6") == .accept)
    }

    @Test func flushOnlyWritesWhatChangedAndRetriesAfterAFailure() throws {
        let h = Harness(Self.settings)
        #expect(h.policy.flushCounters() == 0)
        #expect(h.store.calls(to: .saveCounters) == 0)
        h.send(.alice, queueID: "A1")

        h.store.fail(.saveCounters)
        #expect(h.policy.flushCounters() == 1)
        #expect(h.events.storeFailures.count == 1)
        #expect(h.store.savedCounters(of: .alice) == nil)

        h.store.heal()
        #expect(h.policy.flushCounters() == 1, "still dirty after the failed write")
        #expect(h.store.savedCounters(of: .alice)?.messagesPerHour.current == 1)
        #expect(h.policy.flushCounters() == 0)
    }

    @Test func idleAccountsAreForgotten() throws {
        let h = Harness(Self.settings)
        h.send(.alice, queueID: "A1")
        h.policy.flushCounters()
        #expect(h.policy.trackedAccounts == 1)

        h.clock.advance(by: .seconds(3 * 86_400))
        h.policy.markAllForEviction()
        h.policy.flushCounters()
        #expect(h.policy.trackedAccounts == 0)
        #expect(try h.store.loadCounters().isEmpty)
    }
}

/// The dirty list holds each account once, however many changes marked it.
@Suite("Flush lists each changed account once")
struct DirtyListTests {
    @Test func anAccountChangedSeveralWaysIsSavedOnce() throws {
        let h = Harness(PersistenceTests.settings)
        h.send(.alice, queueID: "A1")
        try h.policy.reset(account: .alice, actor: "marie", reason: "test")
        try h.policy.trust(account: .alice, network: try #require(NetworkPrefix(clientAddress: "82.64.10.7")),
                           actor: "marie", reason: "home")
        h.send(.alice, queueID: "A2")
        #expect(h.policy.flushCounters() == 1)
        #expect(h.policy.flushCounters() == 0, "nothing changed since")
        try h.policy.reset(account: .alice, actor: "marie", reason: "again")
        #expect(h.policy.flushCounters() == 1)
    }

    @Test func aFailedFlushListsTheAccountAgainOnce() throws {
        let h = Harness(PersistenceTests.settings)
        h.send(.alice, queueID: "A1")
        h.store.fail(.saveCounters)
        #expect(h.policy.flushCounters() == 1)
        // Listed again by the failed flush, then changed: still one account to save.
        h.send(.alice, queueID: "A2")
        h.store.heal()
        #expect(h.policy.flushCounters() == 1)
        #expect(h.store.calls(to: .saveCounters) == 2)
        #expect(h.store.savedCounters(of: .alice)?.messagesPerHour.current == 2)
    }
}
