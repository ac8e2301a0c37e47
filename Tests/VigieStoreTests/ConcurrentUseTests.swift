import Dispatch
import Testing
import VigieCore
import VigieStore

/// The daemon calls the store from libmilter's worker threads and its flush thread at once.
@Suite struct ConcurrentUseTests {
    @Test func manyThreadsShareOneStore() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let threads = 8
        let perThread = 50

        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let account = AccountName(normalized: "member\(thread)")
            for step in 0..<perThread {
                do {
                    try store.recordAudit(AuditEvent(
                        at: UnixTime(milliseconds: Int64(step)), account: account.value, action: .reset, actor: "t", reason: "\(step)"))
                    var counters = AccountCounters()
                    counters.refusalsInARow = UInt32(step)
                    try store.saveCounters([(account, counters)])
                    _ = try store.recordLock(AccountLock(account: account, lockedAt: UnixTime(milliseconds: Int64(step)), actor: "t", reason: "r"), evidence: [])
                    _ = try store.activeLocks()
                } catch {
                    Issue.record(error)
                }
            }
        }

        for thread in 0..<threads {
            let account = AccountName(normalized: "member\(thread)")
            #expect(try store.auditTrail(account: account).filter { $0.action == .reset }.map(\.reason) == (0..<perThread).map(String.init))
        }
        let counters = try store.loadCounters()
        #expect(counters.count == threads)
        #expect(counters.allSatisfy { $0.1.refusalsInARow == UInt32(perThread - 1) })
        #expect(try store.activeLocks().count == threads)
    }
}
