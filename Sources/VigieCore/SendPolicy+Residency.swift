import Synchronization

/// A bounded resident set: memory stays the same whatever the number of accounts.
///
/// Every account the policy counts has an entry of about 430 bytes in memory
/// (counters, detection's history, evidence candidates), and the store holds the
/// same counters and history as of the last flush. With `[daemon]
/// resident_accounts` set, each flush that leaves a shard over its share of the
/// bound unloads that shard's least recently active accounts whose entries are
/// saved already, and a decision on an account that is not in memory reads it back
/// from the store first (`StateStore.loadAccount`, outside the shard mutex, like
/// the group lookup). What is lost by unloading: the cached limits (resolved again)
/// and the queue ids kept as evidence candidates, which exist only in memory: the
/// least recently active accounts are the ones least likely to burst next.
///
/// Never unloaded: an account with a lock in force (the locks live apart anyway),
/// one with changes waiting for the flush (the store does not have them yet), and
/// one whose suspicion score is moving (its explanation lives only in memory).
///
/// Known limitation: the flush forgets idle accounts only among those in memory;
/// the rows of an unloaded account that never sends again stay in the store until
/// it does (a row per account ever seen: a few hundred bytes each).
extension SendPolicy {
    /// Runs `body` under `account`'s shard mutex with the account's saved state in
    /// memory if it has any: what admin calls (unlock, reset, trust, show) change or
    /// read must be the account's real counters and history, not an empty entry.
    func withResident<Result>(_ account: AccountName, _ body: (inout Shard.Contents) -> Result) throws -> Result {
        let shard = shard(for: account)
        var stored: (state: StoredAccount, unloads: Int)?
        while true {
            // As in a decision: the flag and the entry read in the same hold of the
            // mutex as `body` runs, so an unload in between is seen.
            let result: Result? = try shard.state.withLock { contents throws -> Result? in
                if hasUnloadedAccounts.load(ordering: .acquiring), !contents.accounts.contains(account) {
                    guard let (state, unloads) = stored, contents.settle(account, stored: state, readAfter: unloads) else {
                        stored = (StoredAccount(), contents.unloads)
                        return nil
                    }
                }
                return body(&contents)
            }
            if let result { return result }
            // Outside the mutex: the store may block.
            stored = (try store.loadAccount(account), stored!.unloads)
        }
    }

    /// Whether `account` is in memory now (else in the store alone, or unknown).
    public func isResident(_ account: AccountName) -> Bool {
        shard(for: account).state.withLock { $0.accounts.contains(account) }
    }

    /// Unloads, shard by shard, the least recently active saved accounts of every
    /// shard over its share of the bound, down to seven eighths of it (so the next
    /// flushes have nothing to do until the shard has grown again). Returns how many
    /// accounts left memory.
    @discardableResult
    func unloadLeastRecentlyActive() -> Int {
        guard let bound = residentPerShard else { return 0 }
        let target = bound - bound / 8
        var unloaded = 0
        for shard in shards {
            unloaded += shard.state.withLock { shard -> Int in
                guard shard.accounts.count > bound else { return 0 }
                let locks = shard.locks, suspicion = shard.suspicion
                let leaving = shard.accounts.oldest(shard.accounts.count - target) { account, entry in
                    !entry.isDirty && locks[account] == nil && suspicion[account] == nil
                }
                guard !leaving.isEmpty else { return 0 }
                // Before the first account leaves: a decision that finds one missing
                // must know to look in the store.
                hasUnloadedAccounts.store(true, ordering: .releasing)
                for account in leaving { shard.accounts.remove(account) }
                shard.unloads &+= 1
                return leaving.count
            }
        }
        return unloaded
    }

    /// What `restore()` puts in memory under the bound: the most recently active
    /// accounts with counters, then accounts known only by their history, up to
    /// `residentAccounts` in all. The others stay in the store until they send.
    static func residentSelection(counters: [(AccountName, AccountCounters)],
                                  histories: [(AccountName, SendingHistory)],
                                  bound: Int?) -> (counters: [(AccountName, AccountCounters)], histories: [(AccountName, SendingHistory)], leftInStore: Bool) {
        guard let bound, counters.count + histories.count > bound else { return (counters, histories, false) }
        let kept = counters.sorted { $0.1.lastActivity > $1.1.lastActivity }.prefix(bound)
        var resident = Set(kept.map(\.0))
        var keptHistories: [(AccountName, SendingHistory)] = []
        for (account, history) in histories {
            if resident.contains(account) {
                keptHistories.append((account, history))
            } else if resident.count < bound {
                resident.insert(account)
                keptHistories.append((account, history))
            }
        }
        let everyone = Set(counters.map(\.0)).union(histories.map(\.0))
        return (Array(kept), keptHistories, everyone.count > resident.count)
    }
}

extension SendPolicy.Shard.Contents {
    /// Puts what the store had of `account` in memory, unless it is there already
    /// (another session read it first). False when an unload ran since the read
    /// began: the read may predate that unload's flush, so read again.
    mutating func settle(_ account: AccountName, stored: StoredAccount, readAfter unloadsBefore: Int) -> Bool {
        if accounts.contains(account) { return true }
        guard unloads == unloadsBefore else { return false }
        guard stored.counters != nil || stored.history != nil else { return true }
        accounts.modify(account) { entry in
            if let counters = stored.counters { entry.packed = PackedCounters(counters) }
            if let history = stored.history { entry.history = history }
        }
        return true
    }
}
