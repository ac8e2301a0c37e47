/// What the policy keeps in memory for one account.
struct AccountEntry: Sendable {
    var packed = PackedCounters()
    /// The counters as the store sees them (converted: not for the per-message path,
    /// which works on `packed`).
    var counters: AccountCounters { packed.unpacked }
    /// Limits in force (shared with the accounts of the same profile), cached with
    /// the group lookup they came from until `limitsExpire`.
    var limits: SharedLimits?
    var limitsExpire: Int64 = 0
    /// Recently accepted messages, for the evidence of a burst lock. Bounded by the
    /// burst threshold.
    var recent = RecentMessages()
    /// What detection learnt of the account, and its suspicion score.
    ///
    /// Inline, though an account detection never learnt from pays for it too: a heap
    /// box allocated at the first scored message saved 280 bytes per such account
    /// (PolicyMemory), but cost the daemon, where every sending account is scored,
    /// 34 bytes more per account (a 304-byte malloc chunk each, and about 5 MB of
    /// holes at 100k accounts between them and each message's transient
    /// allocations: 533 → 567 B/account, benchmarks/ --memory). A per-shard array of
    /// histories, indexed from the entry, would keep both gains.
    var history = SendingHistory()
    /// In its shard's dirty set, waiting for the next flush.
    var isDirty = false
}
