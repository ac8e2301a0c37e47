import Synchronization
import VigieCore

/// An in-memory `StateStore` with the contract the SQLite store must honour, plus
/// failure injection: each operation can be made to throw `StoreDown`.
final class MemoryStateStore: StateStore {
    enum Operation: Hashable, Sendable {
        case activeLocks, recordLock, addEvidence, recordUnlock, recordAudit
        case auditTrail, evidence, loadCounters, saveCounters, loadHistories, saveHistories, loadAccount
    }

    struct StoreDown: Error, Equatable {
        var operation: Operation
    }

    /// Raised when a second lock is written for an account already locked: the
    /// protocol keeps one lock in force per account, so this is a policy bug.
    struct DuplicateLock: Error, Equatable {
        var account: String
    }

    private struct StoredLock {
        var lock: AccountLock
        var active: Bool
    }

    private struct Contents {
        var nextLockID: Int64 = 1
        var locks: [StoredLock] = []
        var audit: [AuditEvent] = []
        var evidence: [LockEvidence] = []
        var counters: [AccountName: AccountCounters] = [:]
        var histories: [AccountName: SendingHistory] = [:]
        var failing: Set<Operation> = []
        var calls: [Operation: Int] = [:]
    }

    private let contents = Mutex(Contents())

    init() {}

    // MARK: Test controls

    func fail(_ operations: Operation...) {
        contents.withLock { $0.failing.formUnion(operations) }
    }

    func heal() {
        contents.withLock { $0.failing.removeAll() }
    }

    func calls(to operation: Operation) -> Int {
        contents.withLock { $0.calls[operation, default: 0] }
    }

    /// Counters as last saved, without going through `loadCounters`.
    func savedCounters(of account: AccountName) -> AccountCounters? {
        contents.withLock { $0.counters[account] }
    }

    /// Every lock ever written, active or not.
    var allLocks: [AccountLock] {
        contents.withLock { $0.locks.map(\.lock) }
    }

    private func enter<T>(_ operation: Operation, _ body: (inout Contents) throws -> T) throws -> T {
        try contents.withLock { contents in
            contents.calls[operation, default: 0] += 1
            if contents.failing.contains(operation) { throw StoreDown(operation: operation) }
            return try body(&contents)
        }
    }

    // MARK: StateStore

    func activeLocks() throws -> [AccountLock] {
        try enter(.activeLocks) { $0.locks.filter(\.active).map(\.lock) }
    }

    func recordLock(_ lock: AccountLock, evidence: [(queueID: String, acceptedAt: UnixTime)]) throws -> AccountLock {
        try enter(.recordLock) { contents in
            if contents.locks.contains(where: { $0.active && $0.lock.account == lock.account }) {
                throw DuplicateLock(account: lock.account)
            }
            var stored = lock
            stored.id = contents.nextLockID
            contents.nextLockID += 1
            contents.locks.append(StoredLock(lock: stored, active: true))
            contents.audit.append(AuditEvent(at: lock.lockedAt, account: lock.account, action: .lock,
                                             actor: lock.actor, reason: lock.reason))
            for item in evidence {
                contents.evidence.append(LockEvidence(lockID: stored.id!, queueID: item.queueID,
                                                      acceptedAt: item.acceptedAt, tripped: false))
            }
            return stored
        }
    }

    func addEvidence(_ evidence: LockEvidence) throws {
        try enter(.addEvidence) { $0.evidence.append(evidence) }
    }

    /// Writes the audit line even when nothing was locked: an unlock also clears the
    /// counters, and the trail should say who did that.
    func recordUnlock(account: AccountName, at: UnixTime, actor: String, reason: String) throws -> AccountLock? {
        try enter(.recordUnlock) { contents in
            contents.audit.append(AuditEvent(at: at, account: account.value, action: .unlock, actor: actor, reason: reason))
            guard let index = contents.locks.lastIndex(where: { $0.active && $0.lock.account == account.value }) else {
                return nil
            }
            contents.locks[index].active = false
            return contents.locks[index].lock
        }
    }

    func recordAudit(_ event: AuditEvent) throws {
        try enter(.recordAudit) { $0.audit.append(event) }
    }

    func auditTrail(account: AccountName) throws -> [AuditEvent] {
        try enter(.auditTrail) { $0.audit.filter { $0.account == account.value } }
    }

    func evidence(account: AccountName) throws -> [LockEvidence] {
        try enter(.evidence) { contents in
            let lockIDs = contents.locks.filter { $0.lock.account == account.value }.compactMap(\.lock.id)
            return lockIDs.sorted(by: >).flatMap { id in contents.evidence.filter { $0.lockID == id } }
        }
    }

    func loadCounters() throws -> [(AccountName, AccountCounters)] {
        try enter(.loadCounters) { $0.counters.map { ($0.key, $0.value) } }
    }

    func saveCounters(_ changes: [(AccountName, AccountCounters?)]) throws {
        try enter(.saveCounters) { contents in
            for (account, counters) in changes { contents.counters[account] = counters }
        }
    }

    func loadHistories() throws -> [(AccountName, SendingHistory)] {
        try enter(.loadHistories) { $0.histories.map { ($0.key, $0.value) } }
    }

    func saveHistories(_ changes: [(AccountName, SendingHistory?)]) throws {
        try enter(.saveHistories) { contents in
            for (account, history) in changes { contents.histories[account] = history }
        }
    }

    func loadAccount(_ account: AccountName) throws -> StoredAccount {
        try enter(.loadAccount) { StoredAccount(counters: $0.counters[account], history: $0.histories[account]) }
    }

    /// A history as last saved.
    func savedHistory(of account: AccountName) -> SendingHistory? {
        contents.withLock { $0.histories[account] }
    }
}
