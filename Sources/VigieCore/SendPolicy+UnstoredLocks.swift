/// Locks in force in memory that the store could not write (a full disk, an I/O
/// error): they are written later, never dropped.
///
/// Why: a burst lock is put in force in memory first (every session sees it at
/// once), then written. When the write fails the lock still holds, but only until
/// the next restart; an attacker whose lock vanished at a restart would carry on.
/// So the lock and its evidence are kept here, the daemon's flusher retries them
/// every flush interval, and the daemon retries once more at stop and logs each
/// lock still unwritten (`storeUnstoredLocks`).
struct UnstoredLock: Sendable {
    var lock: AccountLock
    /// Queue ids accepted in the burst window, written with the lock.
    var evidence: [(queueID: String, acceptedAt: UnixTime)]
    /// The message that tripped the lock, once its queue id is known (end of message).
    var tripped: [(queueID: String, acceptedAt: UnixTime)] = []
}

extension SendPolicy {
    /// How many locks are in force in memory but not written yet.
    public var unstoredLockCount: Int { unstored.withLock { $0.count } }

    /// The locks in force in memory but not written yet (for the log at stop).
    public var unstoredLocks: [AccountLock] { unstored.withLock { $0.values.map(\.lock) } }

    /// Tries to write every unstored lock; returns how many are still unwritten.
    /// Called by the daemon's flusher each interval and at stop; cheap when there
    /// are none (one uncontended mutex).
    @discardableResult
    public func storeUnstoredLocks() -> Int {
        let pending = unstored.withLock { Array($0.values) }
        guard !pending.isEmpty else { return 0 }
        for item in pending {
            let account = AccountName(normalized: item.lock.account)
            do {
                let stored = try store.recordLock(item.lock, evidence: item.evidence)
                // Only the lock that was pending is replaced: an unlock in between
                // dropped it from both tables. The tripped queue ids are taken as
                // they are now (one may have arrived during the write).
                let tripped = unstored.withLock { table -> [(queueID: String, acceptedAt: UnixTime)]? in
                    guard let current = table[account], current.lock.lockedAt == item.lock.lockedAt else { return nil }
                    table[account] = nil
                    return current.tripped
                }
                guard let tripped else {
                    // An admin unlocked it while it was being written: the store must
                    // not keep a lock memory no longer has (a restart would bring it back).
                    if lock(of: account) == nil {
                        _ = try? store.recordUnlock(account: account, at: clock.now(), actor: "vigie",
                                                    reason: "unlocked by an admin while this lock was being written")
                    }
                    continue
                }
                shard(for: account).state.withLock { shard in
                    if shard.locks[account]?.id == nil { shard.locks[account] = stored }
                }
                if let id = stored.id {
                    for message in tripped {
                        do {
                            try store.addEvidence(LockEvidence(lockID: id, queueID: message.queueID,
                                                               acceptedAt: message.acceptedAt, tripped: true))
                        } catch {
                            storeFailed(error, during: "recording the quarantined message \(message.queueID)")
                        }
                    }
                }
                storeHealth.succeeded()
            } catch {
                storeFailed(error, during: "writing the lock of \(account) again")
            }
        }
        return unstoredLockCount
    }

    func keepUnstored(_ lock: AccountLock, evidence: [RecentMessage]) {
        let account = AccountName(normalized: lock.account)
        let item = UnstoredLock(lock: lock, evidence: evidence.map { ($0.queueID, UnixTime(milliseconds: $0.acceptedAt)) })
        unstored.withLock { $0[account] = item }
    }

    func keepTrippedMessage(account: AccountName, queueID: String) {
        let now = clock.now()
        unstored.withLock { $0[account]?.tripped.append((queueID, now)) }
    }

    func dropUnstored(_ account: AccountName) {
        _ = unstored.withLock { $0.removeValue(forKey: account) }
    }

    /// Every failed write: for `vigiectl status`, then the log and the metric.
    func storeFailed(_ error: any Error, during operation: String) {
        storeHealth.failed(error, during: operation)
        events?.storeFailed(error, during: operation)
    }
}
