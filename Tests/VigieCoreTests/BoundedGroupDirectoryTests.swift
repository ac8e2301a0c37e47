import Dispatch
import Foundation
import Synchronization
import Testing
import VigieCore

/// A directory that answers only when the test lets it: a hung LDAP server that
/// comes back when told.
final class GatedGroupDirectory: GroupDirectory {
    let gate = DispatchSemaphore(value: 0)
    private let answered = Atomic<Int>(0)
    let groups: [String]
    init(groups: [String]) { self.groups = groups }

    func groups(of account: AccountName) throws -> [String] {
        gate.wait()
        answered.add(1, ordering: .relaxed)
        return groups
    }

    var answers: Int { answered.load(ordering: .relaxed) }
    func release(_ count: Int) { for _ in 0..<count { gate.signal() } }
}

struct FailingGroupDirectory: GroupDirectory {
    struct Unreachable: Error {}
    func groups(of account: AccountName) throws -> [String] { throw Unreachable() }
}

@Suite("Group lookups within a bound (decision_timeout)")
struct BoundedGroupDirectoryTests {
    @Test func answersInTimeArePassedThrough() throws {
        let bounded = BoundedGroupDirectory(FixedGroupDirectory([.alice: ["newsletter"]]), timeout: .seconds(5))
        #expect(try bounded.groups(of: .alice) == ["newsletter"])
        #expect(try bounded.groups(of: .bob) == [])
    }

    @Test func aDirectoryThatDoesNotAnswerIsAFailureNotAnEmptyList() throws {
        let hung = GatedGroupDirectory(groups: ["newsletter"])
        let bounded = BoundedGroupDirectory(hung, timeout: .seconds(1))
        #expect(throws: BoundedGroupDirectory.Failure.timedOut(.seconds(1))) { try bounded.groups(of: .alice) }
        // The caller came back while the directory still held the lookup.
        #expect(hung.answers == 0)
        #expect(bounded.pendingLookups == 1)
        hung.release(1)
        for _ in 0..<1000 where bounded.pendingLookups != 0 { usleep(2000) }
        #expect(bounded.pendingLookups == 0, "the late lookup finished and was dropped")
        #expect(hung.answers == 1)
    }

    @Test func aDeadDirectoryCannotPileUpThreads() throws {
        let hung = GatedGroupDirectory(groups: [])
        let bounded = BoundedGroupDirectory(hung, timeout: .seconds(1), maximumPending: 2)
        for _ in 0..<2 { #expect(throws: BoundedGroupDirectory.Failure.timedOut(.seconds(1))) { try bounded.groups(of: .alice) } }
        #expect(throws: BoundedGroupDirectory.Failure.tooManyPending(2)) { try bounded.groups(of: .alice) }
        #expect(bounded.pendingLookups == 2)
        hung.release(2)
        for _ in 0..<1000 where bounded.pendingLookups != 0 { usleep(2000) }
        hung.release(1)  // the next lookup gets its answer at once
        #expect(try bounded.groups(of: .alice) == [])
    }

    @Test func theDirectorysOwnErrorIsPassedOn() {
        let bounded = BoundedGroupDirectory(FailingGroupDirectory(), timeout: .seconds(5))
        #expect(throws: FailingGroupDirectory.Unreachable.self) { try bounded.groups(of: .alice) }
    }

    @Test("a failed lookup refuses for now, counts nothing, caches nothing; the next message is decided")
    func theFailedLookupIsUndecidedNeverAccepted() throws {
        let directory = SwitchableGroupDirectory()
        let policy = SendPolicy(settings: .club, groups: directory, store: MemoryStateStore(),
                                clock: ManualClock(.testStart), events: RecordingEvents())
        directory.failing.store(true, ordering: .relaxed)
        #expect(policy.check(account: .gazette, recipients: 300, countsAsRefusal: true) == .undecided(.groupLookup))
        #expect(policy.commit(account: .gazette, recipients: 300, queueID: "Q1") == .undecided(.groupLookup))
        directory.failing.store(false, ordering: .relaxed)
        // The newsletter group's limits, found now: nothing was cached from the failure.
        #expect(policy.check(account: .gazette, recipients: 300, countsAsRefusal: true) == .accept)
        #expect(policy.commit(account: .gazette, recipients: 300, queueID: "Q2") == .accept)
        let report = try policy.report(account: .gazette)
        #expect(report.usage.first { $0.metric == "messages" && $0.window == "hour" }?.used == 1, "only Q2 was counted")
    }
}

/// The newsletter member's directory, which can be made to fail.
final class SwitchableGroupDirectory: GroupDirectory {
    struct Down: Error {}
    let failing = Atomic<Bool>(false)
    func groups(of account: AccountName) throws -> [String] {
        if failing.load(ordering: .relaxed) { throw Down() }
        return account == .gazette ? ["newsletter"] : []
    }
}
