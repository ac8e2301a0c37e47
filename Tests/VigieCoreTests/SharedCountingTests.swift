import Synchronization
import Testing
import VigieCore

/// The counting seam (issue 12): two policies (two hosts) over one shared total,
/// the fall back to local counting, the reconciliation after it, and locks
/// recorded elsewhere. The authority is a fake here; VigieRedisTests and
/// EndToEndTests/RedisTwoHostTests run the Redis one.
@Suite("Shared counting")
struct SharedCountingTests {
    /// A shared total of messages per hour and per account, deciding as the Redis
    /// script does for the messages-per-hour window only, and failing on demand.
    final class FakeAuthority: SharedCounting {
        struct State {
            var messages: [AccountName: Int] = [:]
            var refusals: [AccountName: Int] = [:]
            var failing = false
            var calls = 0
        }
        let state = Mutex(State())
        struct Unreachable: Error {}

        func decide(_ question: SharedCountQuestion, counts: Bool, countsRefusal: Bool) throws -> SharedCount {
            try state.withLock { state in
                state.calls += 1
                if state.failing { throw Unreachable() }
                let sent = state.messages[question.account, default: 0]
                var counters = AccountCounters()
                counters.lastActivity = UnixTime.testStart.milliseconds
                let fits = question.limits.messagesPerHour.map { sent + 1 <= $0 } ?? true
                if !fits {
                    if countsRefusal { state.refusals[question.account, default: 0] += 1 }
                    counters.messagesPerHour = SlidingWindowCount(windowStart: counters.lastActivity - counters.lastActivity % 3_600_000,
                                                                  current: UInt32(sent))
                    counters.refusalsInARow = UInt32(state.refusals[question.account, default: 0])
                    return SharedCount(verdict: .refuse, counters: counters)
                }
                if counts { state.messages[question.account] = sent + 1; state.refusals[question.account] = 0 }
                return SharedCount(verdict: .accept, counters: counters)
            }
        }
        func check(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount {
            try decide(question, counts: false, countsRefusal: countsRefusal)
        }
        func commit(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount {
            try decide(question, counts: true, countsRefusal: countsRefusal)
        }
        func add(account: AccountName, messages: Int, recipients: Int, burstWindow: Int64) throws {
            try state.withLock { state in
                state.calls += 1
                if state.failing { throw Unreachable() }
                state.messages[account, default: 0] += messages
            }
        }
        func forget(account: AccountName) throws {
            try state.withLock { state in
                if state.failing { throw Unreachable() }
                state.messages[account] = nil
            }
        }
        func probe() throws {
            try state.withLock { state in if state.failing { throw Unreachable() } }
        }
        var failing: Bool {
            get { state.withLock { $0.failing } }
            set { state.withLock { $0.failing = newValue } }
        }
        var calls: Int { state.withLock { $0.calls } }
        func total(_ account: AccountName) -> Int { state.withLock { $0.messages[account, default: 0] } }
    }

    static let threePerHour = PolicySettings.only(.numbers(messages: [.hour: 3]))

    static func host(_ authority: FakeAuthority, _ settings: PolicySettings = threePerHour) -> SendPolicy {
        SendPolicy(settings: settings, groups: MutableGroupDirectory([:]), store: MemoryStateStore(),
                   clock: ManualClock(), events: RecordingEvents(), sharedCounting: authority)
    }

    static func send(_ policy: SendPolicy, _ account: AccountName, _ queueID: String) -> Verdict {
        let verdict = policy.check(account: account, recipients: 1, countsAsRefusal: true)
        guard verdict == .accept else { return verdict }
        return policy.commit(account: account, recipients: 1, queueID: queueID, countsAsRefusal: false)
    }

    @Test func twoHostsShareOneLimit() throws {
        let authority = FakeAuthority()
        let hostA = Self.host(authority), hostB = Self.host(authority)
        #expect(Self.send(hostA, .alice, "A1") == .accept)
        #expect(Self.send(hostB, .alice, "B1") == .accept)
        #expect(Self.send(hostA, .alice, "A2") == .accept)
        // Three in all: each host alone has counted one or two.
        let refused = try #require(Self.send(hostB, .alice, "B2").breach)
        #expect(refused.kind == .window(.messages, .hour))
        #expect(refused.limit == 3)
        #expect(Self.send(hostA, .alice, "A3").breach != nil)
        #expect(authority.total(.alice) == 3)
        // Another account has its own total.
        #expect(Self.send(hostB, .bob, "B3") == .accept)
    }

    @Test func recipientsPerMessageNeedsNoRoundTrip() {
        let authority = FakeAuthority()
        let host = Self.host(authority, .only(.numbers(messages: [.hour: 3], perMessage: 2)))
        let verdict = host.check(account: .alice, recipients: 3, countsAsRefusal: true)
        #expect(verdict.breach?.kind == .recipientsPerMessage)
        #expect(authority.calls == 0)
    }

    @Test func unreachableDecidesAloneAndReconciles() {
        let authority = FakeAuthority()
        let host = Self.host(authority)
        #expect(Self.send(host, .alice, "Q1") == .accept)
        authority.failing = true
        // The failing call decides here, on this host's counters (one message so far).
        #expect(Self.send(host, .alice, "Q2") == .accept)
        #expect(host.isSharedCountingDegraded)
        let callsWhenDegraded = authority.calls
        #expect(Self.send(host, .alice, "Q3") == .accept)
        // The same limits on local counts: the fourth is refused, never accepted undecided.
        #expect(Self.send(host, .alice, "Q4").breach != nil)
        #expect(authority.calls == callsWhenDegraded, "no decision waits on an authority known to be down")
        #expect(host.pendingSharedAccounts == 1)

        #expect(host.reconcileSharedCounts() == false, "still down: nothing added, nothing lost")
        #expect(host.pendingSharedAccounts == 1)
        authority.failing = false
        #expect(host.reconcileSharedCounts())
        #expect(!host.isSharedCountingDegraded)
        #expect(host.pendingSharedAccounts == 0)
        // One before the outage, and the two accepted alone during it.
        #expect(authority.total(.alice) == 3)
        #expect(Self.send(host, .alice, "Q5").breach != nil)
    }

    @Test func locksRecordedElsewhereHoldHere() throws {
        let authority = FakeAuthority()
        let host = Self.host(authority)
        let lock = AccountLock(account: .alice, lockedAt: .testStart, actor: "vigie", reason: "burst on host B", id: 7)
        host.applyStoredLock(lock)
        #expect(host.check(account: .alice, recipients: 1, countsAsRefusal: true) == .locked(lock))
        host.applyStoredUnlock(account: .alice, lockID: 6)
        #expect(host.lock(of: .alice) == lock, "the end of another lock does not lift this one")
        host.applyStoredUnlock(account: .alice, lockID: 7)
        #expect(host.lock(of: .alice) == nil)
        #expect(Self.send(host, .alice, "Q1") == .accept)

        // After a resubscription, the store's list is the truth.
        host.applyStoredLock(lock)
        host.applyStoredLocks([AccountLock(account: .bob, lockedAt: .testStart, actor: "admin", reason: "stolen", id: 8)])
        #expect(host.lock(of: .alice) == nil)
        #expect(host.lock(of: .bob)?.id == 8)
    }

    @Test func unlockForgetsTheSharedTotal() throws {
        let authority = FakeAuthority()
        let host = Self.host(authority)
        for index in 0..<3 { #expect(Self.send(host, .alice, "Q\(index)") == .accept) }
        _ = try host.lock(account: .alice, actor: "admin", reason: "test")
        _ = try host.unlock(account: .alice, actor: "admin", reason: "password changed")
        #expect(authority.total(.alice) == 0)
        #expect(Self.send(host, .alice, "Q9") == .accept)
    }
}
