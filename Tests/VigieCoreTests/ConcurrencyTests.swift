import Dispatch
import Synchronization
import Testing
import VigieCore

/// libmilter calls the policy from many threads at once: no count may be lost, and
/// no limit or burst threshold overshot by a race.
@Suite("Concurrent sessions")
struct ConcurrencyTests {
    static let accounts = (1...4).map { AccountName(normalized: "member\($0)") }

    @Test func concurrentCommitsLoseNoUpdate() throws {
        // The clock does not move: each account gets exactly 300 of its 500 attempts.
        let h = Harness(.only(.numbers(messages: [.minute: 300])))
        let tally = Mutex<[AccountName: (accepted: Int, refused: Int)]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var local: [AccountName: (accepted: Int, refused: Int)] = [:]
            for attempt in 0..<250 {
                let account = Self.accounts[(thread + attempt) % Self.accounts.count]
                switch h.policy.commit(account: account, recipients: 2, queueID: "T\(thread)-\(attempt)") {
                case .accept: local[account, default: (0, 0)].accepted += 1
                case .overLimit: local[account, default: (0, 0)].refused += 1
                default: Issue.record("unexpected verdict for \(account)")
                }
            }
            tally.withLock { tally in
                for (account, counts) in local {
                    tally[account, default: (0, 0)].accepted += counts.accepted
                    tally[account, default: (0, 0)].refused += counts.refused
                }
            }
        }

        let final = tally.withLock { $0 }
        h.policy.flushCounters()
        for account in Self.accounts {
            let counts = try #require(final[account])
            #expect(counts.accepted == 300, "\(account)")
            #expect(counts.refused == 200, "\(account)")
            #expect(try h.used(account, .messages, .minute) == counts.accepted)
            #expect(try h.used(account, .recipients, .day) == 2 * counts.accepted)
            let report = try h.policy.report(account: account)
            #expect(report.refusalsInARow == counts.refused)
            let saved = try #require(h.store.savedCounters(of: account))
            #expect(saved.messagesPerDay.current == UInt32(counts.accepted))
            #expect(saved.burstRecipients.current == UInt32(2 * counts.accepted))
        }
    }

    @Test func aBurstFromManyThreadsLocksOnceAtTheThreshold() throws {
        let h = Harness(.only(.numbers(), burst: BurstRule(messages: 40, recipients: nil, window: .seconds(600),
                                                             refusalsInARow: nil)))
        let verdicts = Mutex<[Verdict]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var local: [Verdict] = []
            for attempt in 0..<50 {
                local.append(h.policy.commit(account: .alice, recipients: 1, queueID: "T\(thread)-\(attempt)"))
            }
            verdicts.withLock { $0 += local }
        }

        let all = verdicts.withLock { $0 }
        #expect(all.count == 400)
        #expect(all.filter(\.isAccept).count == 40)
        #expect(all.compactMap(\.newLock).count == 1)
        #expect(all.filter(\.isLocked).count == 359)
        #expect(h.store.allLocks.count == 1)
        #expect(h.events.locked.count == 1)
        #expect(try h.store.evidence(account: .alice).count == 40)
    }
}
