/// Shared counting's life in the policy (issue 12): the fall back to local
/// counting, the reconciliation after it, and the locks other hosts record.
extension SendPolicy {
    /// Whether decisions are taken on this host's counters alone because the shared
    /// counts did not answer. Always false without shared counting.
    public var isSharedCountingDegraded: Bool { sharing?.isDegraded ?? false }

    /// Accounts with counts taken here alone, waiting to be added to the shared totals.
    public var pendingSharedAccounts: Int { sharing?.pending.withLock { $0.count } ?? 0 }

    func sharedCountingFailed(_ error: any Error, account: AccountName) {
        guard let sharing else { return }
        let entered = sharing.enterDegraded()
        events?.sharedCountingFailed(error, account: account, entered: entered)
    }

    /// While degraded: asks whether the shared counts answer again and, if so, adds
    /// what was counted here alone before leaving degraded mode. Called by the
    /// daemon about once a second, never on a decision's path. Returns whether
    /// shared counting is healthy afterwards.
    ///
    /// Counts are added to the current windows (the authority's clock), even those
    /// accepted in an earlier minute: an outage's counts may weigh a little longer
    /// than they would have, never less. A call that fails keeps what it had not
    /// added, and the next round tries again, so nothing is lost or added twice.
    @discardableResult
    public func reconcileSharedCounts() -> Bool {
        guard let sharing, sharing.isDegraded else { return true }
        do {
            try sharing.authority.probe()
        } catch {
            return false
        }
        var added = (accounts: 0, messages: 0)
        // Decisions count here alone until the flag clears: drained before and after.
        guard drainPending(sharing, into: &added) else { return false }
        sharing.leaveDegraded()
        guard drainPending(sharing, into: &added) else {
            _ = sharing.enterDegraded()
            return false
        }
        events?.sharedCountingRecovered(accounts: added.accounts, messages: added.messages)
        return true
    }

    /// Adds every pending count to the shared totals; what a failed call had not
    /// added is put back for the next round.
    private func drainPending(_ sharing: SharedCountingState, into added: inout (accounts: Int, messages: Int)) -> Bool {
        let burstWindow = configured.burstWindow
        while true {
            let batch = sharing.pending.withLock { table -> [(AccountName, SharedCountingState.PendingCounts)] in
                defer { table.removeAll() }
                return Array(table)
            }
            if batch.isEmpty { return true }
            for (index, (account, counts)) in batch.enumerated() {
                do {
                    try sharing.authority.add(account: account, messages: counts.messages, recipients: counts.recipients,
                                              burstWindow: burstWindow)
                    added.accounts += 1
                    added.messages += counts.messages
                } catch {
                    for (rest, left) in batch[index...] { sharing.remember(account: rest, counts: left) }
                    return false
                }
            }
        }
    }

    /// Forgets the shared totals of an account an admin unlocks or resets, before
    /// the store records it: an unlocked member still over the limits on every host
    /// would be locked again by the burst rule at the next message.
    func forgetSharedCounts(_ account: AccountName) throws {
        try sharing?.authority.forget(account: account)
    }

    // MARK: Locks recorded by other hosts

    /// A lock the store holds (recorded by any host) is put in force here. A lock
    /// already in force stays, with the store's id if it had none.
    public func applyStoredLock(_ lock: AccountLock) {
        let account = AccountName(normalized: lock.account)
        // The store holds one lock per account: its lock replaces whatever is here
        // (none, this host's own not stored yet, or an older one whose end was missed).
        let isNew = shard(for: account).state.withLock { shard -> Bool in
            let known = shard.locks[account]
            if known != lock { shard.locks[account] = lock }
            return known == nil
        }
        if isNew { events?.storedLockApplied(account: account, lockID: lock.id, locked: true) }
    }

    /// The lock `lockID` was ended on some host: lifted here too, with the counts
    /// and the score an unlock clears. A lock with another id (a newer one) stays.
    public func applyStoredUnlock(account: AccountName, lockID: Int64) {
        let lifted = shard(for: account).state.withLock { shard -> Bool in
            guard let known = shard.locks[account], known.id == lockID else { return false }
            shard.locks[account] = nil
            shard.accounts.modifyExisting(account) { entry in
                entry.packed = PackedCounters()
                entry.recent.removeAll()
                entry.history.clearScore()
            }
            shard.markDirty(account)
            return true
        }
        if lifted { events?.storedLockApplied(account: account, lockID: lockID, locked: false) }
    }

    /// Makes the locks in force here those of the store (after subscribing again:
    /// announcements made meanwhile were lost). Locks not stored yet (no id) stay.
    public func applyStoredLocks(_ locks: [AccountLock]) {
        let stored = Dictionary(locks.map { (AccountName(normalized: $0.account), $0) }, uniquingKeysWith: { $1 })
        for lock in locks { applyStoredLock(lock) }
        let lifted = activeLocks().filter { lock in
            guard let id = lock.id else { return false }
            return stored[AccountName(normalized: lock.account)]?.id != id
        }
        for lock in lifted {
            if let id = lock.id { applyStoredUnlock(account: AccountName(normalized: lock.account), lockID: id) }
        }
    }
}
