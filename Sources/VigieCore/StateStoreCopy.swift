/// A store that can list everything it holds, so that it can be copied whole into
/// another (`vigiectl store migrate`): the `StateStore` calls are per account, and
/// only the source knows which accounts have a record.
public protocol ExportableStateStore: StateStore {
    /// Every account with a lock or an audit line, in a stable order.
    func accountsWithRecords() throws -> [AccountName]

    /// Every lock the account has had, in force or ended, in the order they were taken.
    func allLocks(account: AccountName) throws -> [AccountLock]
}

/// Copies one store's locks, audit trail, evidence, counter snapshots and sending
/// histories into another, through the `StateStore` calls only, so each store's
/// own code writes and reads its format (issue 12: SQLite to Redis).
///
/// Each account's audit trail is replayed in the order it was written: a `lock`
/// line becomes `recordLock` (with that lock's evidence), an `unlock` line
/// `recordUnlock`, any other line `recordAudit`. The destination thus rebuilds the
/// same trail, the same locks ended at the same times by the same admins, and the
/// same locks in force, with no format of its own written here.
///
/// Lock ids: the destination gives ids as it records (Redis: INCR). `beforeLock` is
/// called with the source's id before each `recordLock`, so a destination that can
/// (Redis presets its counter) keeps the source's ids: `lock 42` in an admin's
/// ticket stays lock 42. Evidence follows the id the destination returned, whatever it is.
///
/// Not idempotent by itself: a second copy into the same destination replays every
/// line again. The caller starts from an empty destination (vigiectl refuses
/// otherwise, or empties it with `--force`).
///
/// Known limitations: a source edited by hand so that a lock has no `lock` audit
/// line, or the lines and the locks disagree, is refused (naming the account) rather
/// than guessed at. Copy from a store no one writes to: a lock taken meanwhile may
/// be missed.
public enum StateStoreCopy {
    /// What was copied (or, for a dry run, would be).
    public struct Summary: Sendable, Equatable, Codable {
        public var accounts = 0
        public var locksInForce = 0
        public var locksEnded = 0
        public var auditLines = 0
        public var evidence = 0
        public var counters = 0
        public var histories = 0

        public init() {}
    }

    /// A source whose audit trail and locks disagree.
    public struct Mismatch: Error, Sendable, CustomStringConvertible {
        public var account: String
        public var problem: String
        public var description: String {
            "the audit trail of \(account) does not match its locks (\(problem)); correct the source by hand or copy without that account"
        }
    }

    /// Reads everything from `source` and, unless `destination` is nil (a dry run,
    /// which counts through the same path), writes it there.
    public static func copy(from source: any ExportableStateStore, to destination: (any StateStore)?,
                            beforeLock: (Int64) throws -> Void = { _ in }) throws -> Summary {
        var summary = Summary()
        for account in try source.accountsWithRecords() {
            summary.accounts += 1
            try copyRecords(of: account, from: source, to: destination, beforeLock: beforeLock, into: &summary)
        }
        let counters = try source.loadCounters()
        summary.counters = counters.count
        if !counters.isEmpty { try destination?.saveCounters(counters.map { ($0.0, $0.1) }) }
        let histories = try source.loadHistories()
        summary.histories = histories.count
        if !histories.isEmpty { try destination?.saveHistories(histories.map { ($0.0, $0.1) }) }
        return summary
    }

    private static func copyRecords(of account: AccountName, from source: any ExportableStateStore, to destination: (any StateStore)?,
                                    beforeLock: (Int64) throws -> Void, into summary: inout Summary) throws {
        var locks = try source.allLocks(account: account)[...]
        var evidence: [Int64: [LockEvidence]] = [:]
        for item in try source.evidence(account: account) { evidence[item.lockID, default: []].append(item) }
        var inForce = false
        for line in try source.auditTrail(account: account) {
            summary.auditLines += 1
            switch line.action {
            case .lock:
                guard let lock = locks.popFirst(), let sourceID = lock.id else {
                    throw Mismatch(account: account.value, problem: "a lock line at \(line.at.milliseconds) ms has no lock")
                }
                guard lock.lockedAt == line.at, lock.actor == line.actor, lock.reason == line.reason else {
                    throw Mismatch(account: account.value, problem: "lock \(sourceID) is not the one its audit line at \(line.at.milliseconds) ms records")
                }
                // The source's order within a lock (accepted at, then recorded); the
                // tripped message is marked after, as the daemon does at end of message.
                let messages = evidence[sourceID] ?? []
                summary.evidence += messages.count
                inForce = true
                guard let destination else { continue }
                try beforeLock(sourceID)
                let stored = try destination.recordLock(lock, evidence: messages.map { ($0.queueID, $0.acceptedAt) })
                guard let storedID = stored.id, stored.lockedAt == lock.lockedAt, stored.reason == lock.reason else {
                    // The destination already had a lock in force for the account.
                    throw Mismatch(account: account.value, problem: "the destination kept another lock in force instead of lock \(sourceID)")
                }
                for message in messages where message.tripped {
                    try destination.addEvidence(LockEvidence(lockID: storedID, queueID: message.queueID,
                                                             acceptedAt: message.acceptedAt, tripped: true))
                }
            case .unlock:
                guard inForce else {
                    throw Mismatch(account: account.value, problem: "an unlock line at \(line.at.milliseconds) ms follows no lock")
                }
                inForce = false
                summary.locksEnded += 1
                _ = try destination?.recordUnlock(account: account, at: line.at, actor: line.actor, reason: line.reason)
            case .reset, .hold, .release, .purge, .trust, .watch:
                try destination?.recordAudit(line)
            }
        }
        if inForce { summary.locksInForce += 1 }
        if let left = locks.first {
            throw Mismatch(account: account.value, problem: "lock \(left.id.map(String.init) ?? "?") has no lock line")
        }
    }
}
