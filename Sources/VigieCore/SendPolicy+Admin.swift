/// What admins do through `vigiectl`: look, lock, unlock, reset.
extension SendPolicy {
    /// Locks `account` by hand. Returns nil if it was already locked.
    public func lock(account: AccountName, actor: String, reason: String) throws -> AccountLock? {
        let now = clock.now()
        let lock = AccountLock(account: account, lockedAt: now, actor: actor, reason: reason)
        let isNew = shard(for: account).state.withLock { shard -> Bool in
            if shard.locks[account] != nil { return false }
            shard.locks[account] = lock
            return true
        }
        guard isNew else { return nil }
        do {
            let stored = try store.recordLock(lock, evidence: [])
            shard(for: account).state.withLock { $0.locks[account] = stored }
            return stored
        } catch {
            // Not durable means not done: roll back so the admin's retry is honest.
            shard(for: account).state.withLock { _ = $0.locks.removeValue(forKey: account) }
            throw error
        }
    }

    /// Unlocks `account` and clears its counters: what the attacker sent must not
    /// keep the member over a limit (or re-trip the burst rule) once the password
    /// is changed. Returns the lock that ended, or nil if there was none.
    public func unlock(account: AccountName, actor: String, reason: String) throws -> AccountLock? {
        try forgetSharedCounts(account)
        let ended = try store.recordUnlock(account: account, at: clock.now(), actor: actor, reason: reason)
        // A lock the store never got is lifted too: the retry must not bring it back.
        dropUnstored(account)
        // An unloaded account's counts are in the store: read back, cleared, saved by the flush.
        let wasLocked = try withResident(account) { shard -> Bool in
            let wasLocked = shard.locks.removeValue(forKey: account) != nil
            // The episode is over: a score left at the lock threshold would lock the
            // member again on their next message to a stranger.
            shard.accounts.modifyExisting(account) { entry in
                Self.clearCounts(&entry)
                entry.history.clearScore()
            }
            shard.markDirty(account)
            return wasLocked
        }
        return ended ?? (wasLocked ? AccountLock(account: account, lockedAt: clock.now(), actor: actor, reason: reason) : nil)
    }

    /// Clears the counters of `account` (not its lock).
    public func reset(account: AccountName, actor: String, reason: String) throws {
        try forgetSharedCounts(account)
        try store.recordAudit(AuditEvent(at: clock.now(), account: account.value, action: .reset, actor: actor, reason: reason))
        try withResident(account) { shard in
            shard.accounts.modifyExisting(account, Self.clearCounts)
            shard.markDirty(account)
        }
    }

    /// Forgets what an account sent: its counts and evidence (not its cached limits).
    private static func clearCounts(_ entry: inout AccountEntry) {
        entry.packed = PackedCounters()
        entry.recent.removeAll()
    }

    /// Records in the audit trail that an admin ran postsuper on an account's evidence.
    public func recordQueueAction(account: AccountName, action: AuditEvent.Action, actor: String, reason: String) throws {
        try store.recordAudit(AuditEvent(at: clock.now(), account: account.value, action: action, actor: actor, reason: reason))
    }

    /// Whether Vigie has seen this account, or has anything stored about it.
    public func knows(account: AccountName) -> Bool {
        if (try? withResident(account, { $0.accounts.contains(account) || $0.locks[account] != nil })) == true { return true }
        return ((try? store.auditTrail(account: account)) ?? []).isEmpty == false
    }

    /// Locks in force, oldest first.
    public func activeLocks() -> [AccountLock] {
        shards.flatMap { shard in
            shard.state.withLock { Array($0.locks.values) }
        }.sorted { $0.lockedAt < $1.lockedAt }
    }

    /// Number of accounts in memory (under `[daemon] resident_accounts`, the most
    /// recently active; the others are in the store).
    public var trackedAccounts: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.accounts.count } }
    }

    /// The highest ratio, over every account, of its burst-window usage to its burst
    /// threshold (0 when the burst rule is off): "an account is close to being
    /// locked" without naming it, for the metrics.
    public func burstPressureMax() -> Double {
        let now = clock.now().milliseconds
        let configured = self.configured
        let window = configured.burstWindow
        let fallback = LimitMaxima(configured.settings.limits.resolve(
            for: AccountName(normalized: ""), memberOf: [], burst: configured.settings.burst))
        var highest = 0.0
        for shard in shards {
            shard.state.withLock { shard in
                for (account, entry) in shard.accounts where shard.locks[account] == nil {
                    let limits = entry.limits.flatMap { $0.generation == configured.generation ? $0.maxima : nil } ?? fallback
                    var messages = entry.packed.burstMessages, recipients = entry.packed.burstRecipients
                    messages.advance(to: now, length: window)
                    recipients.advance(to: now, length: window)
                    if let threshold = limits.burstMessages, threshold > 0 {
                        highest = max(highest, messages.estimate(at: now, length: window) / Double(threshold))
                    }
                    if let threshold = limits.burstRecipients, threshold > 0 {
                        highest = max(highest, recipients.estimate(at: now, length: window) / Double(threshold))
                    }
                }
            }
        }
        return min(highest, 1)
    }

    /// The busiest senders over the last hour.
    public func topSenders(limit: Int) -> [SenderActivity] {
        let now = clock.now().milliseconds
        let hour = LimitWindow.hour.milliseconds
        let day = LimitWindow.day.milliseconds
        let burstWindow = self.burstWindow
        var all: [SenderActivity] = []
        for shard in shards {
            shard.state.withLock { shard in
                for (account, entry) in shard.accounts {
                    var counters = entry.packed
                    counters.advance(to: now, burstWindow: burstWindow)
                    let messages = Int(counters[.messages, .hour].estimate(at: now, length: hour).rounded())
                    let daily = Int(counters[.messages, .day].estimate(at: now, length: day).rounded())
                    let locked = shard.locks[account] != nil
                    guard messages > 0 || daily > 0 || locked else { continue }
                    all.append(SenderActivity(
                        account: account.value, messagesLastHour: messages,
                        recipientsLastHour: Int(counters[.recipients, .hour].estimate(at: now, length: hour).rounded()),
                        messagesLastDay: daily, locked: locked))
                }
            }
        }
        return Array(all.sorted { ($0.messagesLastHour, $0.messagesLastDay, $1.account) > ($1.messagesLastHour, $1.messagesLastDay, $0.account) }.prefix(limit))
    }

    /// Everything about one account, for `vigiectl show`.
    public func report(account: AccountName) throws -> AccountReport {
        let now = clock.now().milliseconds
        let memberOf = try groups.groups(of: account)
        let settings = self.settings
        let burstWindow = self.burstWindow
        let limits = settings.limits.resolve(for: account, memberOf: memberOf, burst: settings.burst, detection: settings.detection)
        let (counters, lock) = try withResident(account) { shard -> (PackedCounters, AccountLock?) in
            var counters = shard.accounts[account]?.packed ?? PackedCounters()
            counters.advance(to: now, burstWindow: burstWindow)
            return (counters, shard.locks[account])
        }
        var usage: [AccountReport.Usage] = []
        for metric in LimitMetric.allCases {
            for window in LimitWindow.allCases {
                let limit = limits.limit(metric, window)
                let used = counters[metric, window].estimate(at: now, length: window.milliseconds)
                usage.append(.init(metric: metric.rawValue, window: window.description, used: Int(used.rounded()),
                                   limit: limit.value.maximum, source: limit.source.description))
            }
        }
        return AccountReport(
            account: account.value, exempt: isExempt(account), groups: memberOf.sorted(), usage: usage,
            recipientsPerMessage: limits.recipientsPerMessage.value.maximum,
            recipientsPerMessageSource: limits.recipientsPerMessage.source.description,
            refusalsInARow: Int(counters.refusalsInARow), lock: lock,
            history: try store.auditTrail(account: account), evidence: try store.evidence(account: account),
            detection: detectionReport(account: account, memberOf: memberOf))
    }
}
