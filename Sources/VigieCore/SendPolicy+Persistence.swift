/// Saving counters in the background, so no SQLite write sits on the per-message path.
extension SendPolicy {
    /// Writes the counters that changed since the last flush, and forgets accounts
    /// idle for two days (no lock, every window decayed). The daemon calls this about
    /// once a second from its own thread: a `kill -9` loses at most that much counting.
    @discardableResult
    public func flushCounters() -> Int {
        let now = clock.now().milliseconds
        let window = burstWindow
        let detection = configured.detection
        let retention = detection.historyRetention.milliseconds
        var changes: [(AccountName, AccountCounters?)] = []
        var histories: [(AccountName, SendingHistory?)] = []
        for shard in shards {
            shard.state.withLock { shard in
                guard !shard.dirty.isEmpty else { return }
                for account in shard.dirty {
                    let seen = shard.accounts.modifyExisting(account) { entry -> (idle: Bool, counters: AccountCounters, history: SendingHistory?) in
                        entry.isDirty = false
                        // Evidence candidates older than the burst window can never be
                        // evidence again: free them rather than keep them for days.
                        if !entry.recent.isEmpty, now - entry.packed.lastActivity > window { entry.recent.removeAll() }
                        // A history is what lets detection tell the member from a thief: it
                        // outlives idle counters (a member who writes once a month), up to
                        // the retention.
                        let keepsHistory = !entry.history.isEmpty
                            && now - entry.packed.lastActivity < retention
                        return (entry.packed.isIdle(at: now) && !keepsHistory, entry.counters,
                                entry.history.isEmpty ? nil : entry.history)
                    }
                    guard let seen else { continue }
                    if seen.idle && shard.locks[account] == nil {
                        shard.accounts.remove(account)
                        shard.suspicion[account] = nil
                        changes.append((account, nil))
                        histories.append((account, nil))
                    } else {
                        changes.append((account, seen.counters))
                        if let history = seen.history { histories.append((account, history)) }
                        // A score decayed to nothing needs no explanation any more.
                        if shard.suspicion[account] != nil, seen.history.map({ $0.score(at: now, halfLife: detection.halfLife) < 1 }) ?? true {
                            shard.suspicion[account] = nil
                        }
                    }
                }
                // A burst of new accounts must not pin a large set for good.
                shard.dirty.removeAll(keepingCapacity: shard.dirty.count <= 256)
            }
        }
        // Only after the save: an account unloaded must be in the store as it is in memory.
        defer { unloadLeastRecentlyActive() }
        guard !changes.isEmpty else { return 0 }
        do {
            try store.saveCounters(changes)
            if !histories.isEmpty { try store.saveHistories(histories) }
            storeHealth.succeeded()
        } catch {
            // Put them back as dirty so the next flush tries again (and none is unloaded).
            for (account, _) in changes {
                shard(for: account).state.withLock { $0.markDirty(account) }
            }
            storeFailed(error, during: "saving counters")
        }
        return changes.count
    }

    /// Marks every account with counters as idle-checkable, so a flush after a long
    /// quiet period evicts what has decayed. Called every few minutes by the daemon.
    public func markAllForEviction() {
        for shard in shards {
            shard.state.withLock { shard in
                for account in shard.accounts.keys where shard.locks[account] == nil {
                    shard.markDirty(account)
                }
            }
        }
    }
}

extension SendPolicy.Shard.Contents {
    /// Lists `account` for the next flush, unless it is listed already or has no
    /// entry (nothing to save).
    mutating func markDirty(_ account: AccountName) {
        let newlyDirty = accounts.modifyExisting(account) { entry -> Bool in
            defer { entry.isDirty = true }
            return !entry.isDirty
        } ?? false
        if newlyDirty { dirty.append(account) }
    }
}
