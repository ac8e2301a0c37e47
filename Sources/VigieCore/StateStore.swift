/// Durable state behind the policy: locks, audit trail, evidence and counters.
///
/// Kept small on purpose: SQLite is the embedded implementation, and a shared store
/// (Redis) for several Postfix hosts must be able to implement the same calls.
/// Every call may block on I/O: callers keep them off Swift concurrency's pool.
public protocol StateStore: AnyObject, Sendable {
    /// Locks currently in force, one per account.
    func activeLocks() throws -> [AccountLock]

    /// Writes a lock and its audit line durably; returns the lock with its id.
    /// Evidence (queue ids accepted during the burst) is written in the same transaction.
    func recordLock(_ lock: AccountLock, evidence: [(queueID: String, acceptedAt: UnixTime)]) throws -> AccountLock

    /// Adds one piece of evidence to an existing lock (the tripping message, whose
    /// queue id is known only at end of message).
    func addEvidence(_ evidence: LockEvidence) throws

    /// Ends the lock in force for `account` and writes the audit line. Returns the
    /// ended lock, or nil if the account was not locked.
    func recordUnlock(account: AccountName, at: UnixTime, actor: String, reason: String) throws -> AccountLock?

    /// Appends an audit line that is not a lock or unlock (reset, hold, release, purge).
    func recordAudit(_ event: AuditEvent) throws

    /// The audit trail of one account, oldest first.
    func auditTrail(account: AccountName) throws -> [AuditEvent]

    /// Evidence recorded for the account's locks, newest lock first.
    func evidence(account: AccountName) throws -> [LockEvidence]

    /// Counters saved by the last flush.
    func loadCounters() throws -> [(AccountName, AccountCounters)]

    /// Saves changed counters in one transaction; `nil` counters delete the account's row.
    func saveCounters(_ changes: [(AccountName, AccountCounters?)]) throws

    /// Sending histories (what detection learnt, and the suspicion score) saved by the last flush.
    func loadHistories() throws -> [(AccountName, SendingHistory)]

    /// Saves changed histories in one transaction; `nil` deletes the account's row.
    func saveHistories(_ changes: [(AccountName, SendingHistory?)]) throws

    /// What the last flushes saved of one account: its counters and its history,
    /// each nil when there is none (or it cannot be decoded, as the bulk loads
    /// skip it). The policy reads an account back this way when it left memory
    /// (`[daemon] resident_accounts`), so the call sits on a decision's path.
    func loadAccount(_ account: AccountName) throws -> StoredAccount
}

/// One account's saved counters and sending history, as `StateStore.loadAccount` reads them.
public struct StoredAccount: Sendable {
    public var counters: AccountCounters?
    public var history: SendingHistory?

    public init(counters: AccountCounters? = nil, history: SendingHistory? = nil) {
        self.counters = counters
        self.history = history
    }
}
