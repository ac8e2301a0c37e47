import Testing
import VigieCore

/// The burst lock: too much accepted volume in the burst window, or a run of
/// refusals, locks the account durably with the evidence of what went out.
@Suite("Burst rule")
struct BurstRuleTests {
    static func settings(messages: Int? = nil, recipients: Int? = nil, refusals: Int? = nil,
                         limits: SendLimitsLayer = .numbers()) -> PolicySettings {
        .only(limits, burst: BurstRule(messages: messages, recipients: recipients, window: .seconds(600), refusalsInARow: refusals))
    }

    @Test func tooManyMessagesLockWithTheirEvidence() throws {
        let h = Harness(Self.settings(messages: 5))
        for index in 1...5 {
            #expect(h.send(.alice, queueID: "Q\(index)") == .accept)
            h.clock.advance(by: .seconds(10))
        }
        let (lock, trigger) = try #require(h.send(.alice, queueID: "Q6").newLock)
        #expect(trigger == .messages(count: 6, limit: 5, window: .seconds(600)))
        #expect(lock.account == "alice")
        #expect(lock.actor == "vigie")
        #expect(lock.reason == "burst: 6 messages in 10m (threshold 5)")
        #expect(lock.lockedAt == UnixTime.testStart + .seconds(50))
        let id = try #require(lock.id, "the lock returned is the stored one")

        #expect(try h.store.activeLocks() == [lock])
        let evidence = try h.store.evidence(account: .alice)
        #expect(evidence.map(\.queueID) == ["Q1", "Q2", "Q3", "Q4", "Q5"])
        #expect(evidence.allSatisfy { $0.lockID == id && !$0.tripped })
        #expect(evidence.first?.acceptedAt == .testStart)
        #expect(h.events.locked == [RecordingEvents.Locked(lock: lock, trigger: trigger, evidence: 5)])
        #expect(h.events.storeFailures.isEmpty)
    }

    @Test func tooManyRecipientsLock() throws {
        let h = Harness(Self.settings(messages: 100, recipients: 20))
        for index in 1...3 {
            #expect(h.send(.alice, recipients: 6, queueID: "Q\(index)") == .accept)
        }
        let (_, trigger) = try #require(h.send(.alice, recipients: 3, queueID: "Q4").newLock)
        #expect(trigger == .recipients(count: 21, limit: 20, window: .seconds(600)))
        #expect(try h.store.evidence(account: .alice).count == 3)
    }

    @Test func exactlyAtTheThresholdDoesNotLock() {
        let h = Harness(Self.settings(messages: 5, recipients: 10))
        for index in 1...5 {
            #expect(h.send(.alice, recipients: 2, queueID: "Q\(index)") == .accept)
        }
        #expect(h.policy.lock(of: .alice) == nil)
    }

    @Test func trafficOutsideTheBurstWindowIsNotEvidence() throws {
        let h = Harness(Self.settings(messages: 40))
        for index in 0..<10 {
            #expect(h.send(.alice, queueID: "OLD\(index)") == .accept)
        }
        // Eleven minutes later the old messages are out of the 10-minute window,
        // though the sliding estimate still weighs them (10 × 0.9).
        h.clock.advance(by: .seconds(660))
        var accepted: [String] = []
        var lock: AccountLock?
        for index in 0..<40 {
            let verdict = h.send(.alice, queueID: "NEW\(index)")
            if verdict == .accept { accepted.append("NEW\(index)") } else { lock = verdict.newLock?.lock; break }
        }
        let stored = try #require(lock)
        #expect(accepted.count == 31)   // 9 (estimate) + 31 + 1 > 40
        let evidence = try h.store.evidence(account: .alice).map(\.queueID)
        #expect(evidence == accepted)
        #expect(!evidence.contains { $0.hasPrefix("OLD") })
        #expect(h.events.locked.first?.evidence == 31)
        #expect(stored.id != nil)
    }

    @Test func refusalsInARowLock() throws {
        let h = Harness(Self.settings(refusals: 3, limits: .numbers(messages: [.minute: 1])))
        #expect(h.send(.alice, queueID: "Q1") == .accept)
        #expect(h.send(.alice, queueID: "Q2").breach != nil)
        #expect(h.send(.alice, queueID: "Q3").breach != nil)
        let (lock, trigger) = try #require(h.send(.alice, queueID: "Q4").newLock)
        #expect(trigger == .refusalsInARow(3))
        #expect(lock.reason == "burst: 3 attempts refused for a limit in a row")
        #expect(try h.store.evidence(account: .alice).map(\.queueID) == ["Q1"])
    }

    /// A lock by refusals long after the last accepted message: those messages are
    /// outside the burst window and are not evidence.
    @Test func aLateLockHasNoStaleEvidence() throws {
        let h = Harness(Self.settings(refusals: 3, limits: .numbers(messages: [.day: 2])))
        #expect(h.send(.alice, queueID: "Q1") == .accept)
        h.clock.advance(by: .seconds(300))
        #expect(h.send(.alice, queueID: "Q2") == .accept)
        h.clock.advance(by: .seconds(400))       // Q1 is now 11m40s old, Q2 6m40s
        #expect(h.send(.alice, queueID: "R1").breach != nil)
        #expect(h.send(.alice, queueID: "R2").breach != nil)
        #expect(h.send(.alice, queueID: "R3").newLock != nil)
        #expect(try h.store.evidence(account: .alice).map(\.queueID) == ["Q2"])
        #expect(h.events.locked.first?.evidence == 1)
    }

    @Test func onceLockedEverythingIsRefused() throws {
        let h = Harness(Self.settings(messages: 2))
        h.send(.alice, queueID: "Q1")
        h.send(.alice, queueID: "Q2")
        let (lock, _) = try #require(h.send(.alice, queueID: "Q3").newLock)

        for hours in [0, 1, 25, 24 * 30] {
            h.clock.set(UnixTime.testStart + .seconds(Int64(hours) * 3600))
            #expect(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: true) == .locked(lock))
            #expect(h.policy.commit(account: .alice, recipients: 1, queueID: "L\(hours)") == .locked(lock))
        }
        #expect(h.policy.lock(of: .alice) == lock)
        #expect(h.policy.lock(of: .bob) == nil)
        #expect(h.send(.bob, queueID: "B1") == .accept)
        // Locked once: one lock stored, one event.
        #expect(h.store.allLocks.count == 1)
        #expect(h.events.locked.count == 1)
    }

    @Test func theTrippingMessageIsRecordedAsEvidence() throws {
        let h = Harness(Self.settings(messages: 1))
        h.send(.alice, queueID: "Q1")
        let (lock, _) = try #require(h.send(.alice, queueID: "Q2").newLock)
        h.clock.advance(by: .seconds(1))
        h.policy.recordTrippedMessage(lock: lock, queueID: "Q2")
        h.policy.recordTrippedMessage(lock: lock, queueID: "")
        let evidence = try h.store.evidence(account: .alice)
        #expect(evidence.map(\.queueID) == ["Q1", "Q2"])
        #expect(evidence.map(\.tripped) == [false, true])
    }

    @Test func aLockTheStoreCannotWriteStaysInForce() throws {
        let h = Harness(Self.settings(messages: 2))
        h.store.fail(.recordLock)
        h.send(.alice, queueID: "Q1")
        h.send(.alice, queueID: "Q2")
        let (lock, _) = try #require(h.send(.alice, queueID: "Q3").newLock)
        #expect(lock.id == nil, "not stored, so no id")
        #expect(h.events.storeFailures.count == 1)
        #expect(h.events.storeFailures.first?.error as? MemoryStateStore.StoreDown == .init(operation: .recordLock))
        #expect(h.events.locked.count == 1)

        h.store.heal()
        #expect(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: true).isLocked)
        #expect(h.policy.commit(account: .alice, recipients: 1, queueID: "Q4").isLocked)
        // Without an id the tripped message cannot be linked; that is reported, not a crash.
        h.policy.recordTrippedMessage(lock: lock, queueID: "Q3")
        #expect(h.store.calls(to: .addEvidence) == 0)
    }

    @Test func disabledRuleNeverLocks() {
        let h = Harness(.only(.numbers(messages: [.minute: 1])))
        for index in 0..<1000 {
            h.send(.alice, recipients: 50, queueID: "Q\(index)")
        }
        #expect(h.policy.lock(of: .alice) == nil)
        #expect(h.events.locked.isEmpty)
    }
}
