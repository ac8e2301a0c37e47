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
    var history = SendingHistory()
    /// In its shard's dirty set, waiting for the next flush.
    var isDirty = false
}
