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
    /// What detection learnt of the account, and its suspicion score. Reading it
    /// allocates nothing; changing it gives the entry a history of its own.
    var history: SendingHistory {
        get { learnt?.history ?? SendingHistory() }
        _modify {
            if learnt == nil {
                learnt = LearntHistory(SendingHistory())
            } else if !isKnownUniquelyReferenced(&learnt) {
                learnt = LearntHistory(learnt!.history)
            }
            yield &learnt!.history
        }
    }
    /// The history, out of line and only once detection has learnt something (or
    /// a restore or an admin put one there): inline, its ~265 bytes were most of an
    /// entry, paid by every account even with detection off (benchmarks/ PolicyMemory).
    private var learnt: LearntHistory?
    /// In its shard's dirty set, waiting for the next flush.
    var isDirty = false
}

/// An account's `SendingHistory` on the heap, copied on write by `AccountEntry.history`.
///
/// `@unchecked Sendable`: the only mutation is through `AccountEntry.history`'s
/// `_modify`, after `isKnownUniquelyReferenced` made the box the entry's alone, and
/// entries are changed only under their shard's mutex; a box shared between copies
/// of an entry is never written.
final class LearntHistory: @unchecked Sendable {
    var history: SendingHistory
    init(_ history: SendingHistory) { self.history = history }
}
