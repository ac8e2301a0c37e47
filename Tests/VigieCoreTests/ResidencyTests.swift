import Dispatch
import Synchronization
import Testing
import VigieCore

/// `[daemon] resident_accounts`: accounts leave memory after their flush and come
/// back from the store with everything they had counted.
@Suite("Resident accounts")
struct ResidencyTests {
    static let settings = PolicySettings.only(.numbers(messages: [.hour: 3]))
    static let members = (0..<300).map { AccountName(normalized: "member\($0)@club.example") }
    /// One account a shard: with 300 members, most shards hold several.
    static let bound = 64

    /// Every member sends `count` messages, a second apart for each round, then a flush.
    static func everyoneSends(_ count: Int, _ h: Harness) {
        for round in 0..<count {
            for (index, member) in members.enumerated() {
                #expect(h.send(member, queueID: "Q\(round)-\(index)") == .accept)
            }
            h.clock.advance(by: .seconds(1))
        }
        h.policy.flushCounters()
    }

    @Test func anUnloadedAccountComesBackWithItsCounts() throws {
        let h = Harness(Self.settings, residentAccounts: Self.bound)
        Self.everyoneSends(2, h)
        #expect(h.policy.trackedAccounts <= Self.bound)
        #expect(h.store.calls(to: .loadAccount) == 0)

        // Two of three messages this hour each: one more, then the limit, for everyone.
        for (index, member) in Self.members.enumerated() {
            #expect(h.send(member, queueID: "R\(index)") == .accept, "\(member)")
            #expect(h.send(member, queueID: "S\(index)").breach?.kind == .window(.messages, .hour), "\(member)")
        }
        #expect(h.store.calls(to: .loadAccount) >= Self.members.count - Self.bound)
    }

    @Test func withoutABoundNothingLeavesNorIsRead() {
        let h = Harness(Self.settings)
        Self.everyoneSends(1, h)
        #expect(h.policy.trackedAccounts == Self.members.count)
        Self.everyoneSends(1, h)
        #expect(h.store.calls(to: .loadAccount) == 0)
    }

    @Test func whatIsNotSavedStaysInMemory() {
        let h = Harness(Self.settings, residentAccounts: Self.bound)
        h.store.fail(.saveCounters)
        Self.everyoneSends(1, h)
        #expect(h.policy.trackedAccounts == Self.members.count)

        h.store.heal()
        h.policy.flushCounters()
        #expect(h.policy.trackedAccounts <= Self.bound)
        #expect(h.store.savedCounters(of: Self.members[0])?.messagesPerHour.current == 1)
    }

    @Test func anUnreadableStoreRefusesForNowAndCountsNothing() throws {
        let h = Harness(Self.settings, residentAccounts: Self.bound)
        Self.everyoneSends(2, h)
        let unloaded = try #require(Self.members.first { h.store.savedCounters(of: $0) != nil && !h.policy.isResident($0) })

        h.store.fail(.loadAccount)
        #expect(h.send(unloaded, queueID: "X1") == .undecided(.storedState))
        #expect(h.events.storeFailures.count == 1)

        h.store.heal()
        #expect(h.send(unloaded, queueID: "X2") == .accept)
        #expect(h.send(unloaded, queueID: "X3").breach != nil)
    }

    @Test func resetAndUnlockReachAnUnloadedAccount() throws {
        let h = Harness(Self.settings, residentAccounts: Self.bound)
        let first = AccountName(normalized: "first@club.example")
        for index in 1...3 { #expect(h.send(first, queueID: "F\(index)") == .accept) }
        h.clock.advance(by: .seconds(10))
        // Everyone else is more recent: the first member is the first to leave.
        Self.everyoneSends(1, h)
        #expect(!h.policy.isResident(first))

        #expect(try h.used(first, .messages, .hour) == 3)
        #expect(h.send(first, queueID: "F4").breach != nil)
        #expect(h.store.savedCounters(of: first)?.messagesPerHour.current == 3)
        try h.policy.reset(account: first, actor: "marie", reason: "member asked")
        h.policy.flushCounters()
        // Cleared counters are idle ones: the flush deletes the row.
        #expect(h.store.savedCounters(of: first) == nil)

        let restarted = h.restarted(residentAccounts: Self.bound)
        try restarted.restore()
        #expect(restarted.commit(account: first, recipients: 1, queueID: "F5") == .accept)
    }

    @Test func aRestartLoadsTheMostRecentlyActiveAndReadsTheRestOnDemand() throws {
        let h = Harness(Self.settings)
        Self.everyoneSends(2, h)
        let latest = Self.members.last!
        #expect(h.send(latest, queueID: "L1") == .accept)
        h.policy.flushCounters()

        let restarted = h.restarted(residentAccounts: Self.bound)
        try restarted.restore()
        #expect(restarted.trackedAccounts == Self.bound)
        #expect(restarted.isResident(latest))
        for (index, member) in Self.members.dropLast().enumerated() {
            #expect(restarted.commit(account: member, recipients: 1, queueID: "R\(index)") == .accept, "\(member)")
            #expect(restarted.commit(account: member, recipients: 1, queueID: "S\(index)").breach != nil, "\(member)")
        }
        #expect(restarted.commit(account: latest, recipients: 1, queueID: "L2").breach != nil)
    }

    @Test func concurrentSessionsAndFlushesLoseNoCount() throws {
        // Eight sessions at once on 300 accounts, flushes and unloads running beside
        // them: each account ends with exactly the messages accepted for it.
        let h = Harness(.only(.numbers(messages: [.hour: 1_000_000])), residentAccounts: Self.bound)
        let accepted = Mutex<[Int]>(Array(repeating: 0, count: Self.members.count))
        let done = Atomic<Bool>(false)
        let flusher = DispatchGroup()
        DispatchQueue.global().async(group: flusher) { while !done.load(ordering: .relaxed) { h.policy.flushCounters() } }
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var local = Array(repeating: 0, count: Self.members.count)
            for attempt in 0..<1500 {
                let index = (attempt * 7 + thread * 13) % Self.members.count
                if h.send(Self.members[index], queueID: "T\(thread)-\(attempt)") == .accept { local[index] += 1 }
            }
            accepted.withLock { total in for index in total.indices { total[index] += local[index] } }
        }
        done.store(true, ordering: .relaxed)
        flusher.wait()
        h.policy.flushCounters()
        let totals = accepted.withLock { $0 }
        #expect(totals.reduce(0, +) == 8 * 1500)
        for (index, member) in Self.members.enumerated() {
            let used = try h.used(member, .messages, .hour); #expect(used == totals[index], "\(member) \(used) \(totals[index])")
        }
    }
}
