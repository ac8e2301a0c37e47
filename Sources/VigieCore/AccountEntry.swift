/// What the policy keeps in memory for one account.
struct AccountEntry: Sendable {
    var counters = AccountCounters()
    /// Limits in force, cached with the group lookup they came from.
    var limits: EffectiveLimits?
    var limitsExpire: Int64 = 0
    /// The settings generation the cached limits were resolved under.
    var limitsGeneration = 0
    /// Recently accepted messages, oldest first, for the evidence of a burst lock.
    /// Bounded by the burst threshold; allocated once per active account.
    var recent: [RecentMessage] = []
}

/// A message accepted recently: its Postfix queue id and when.
struct RecentMessage: Sendable, Equatable {
    var queueID: String
    var acceptedAt: Int64
}
