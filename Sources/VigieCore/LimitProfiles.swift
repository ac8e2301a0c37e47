import Synchronization

/// Limits in force, shared by every account that resolves to the same profile.
///
/// Most accounts have the defaults; the rest share a few group combinations. One
/// shared, immutable object per profile instead of a copy per account saved about
/// 440 bytes per tracked account (two arrays and three resolved limits each).
final class SharedLimits: Sendable {
    let limits: EffectiveLimits
    /// The same numbers as plain values, for the per-message decision.
    let maxima: LimitMaxima
    /// The settings generation these were resolved under: a reload makes them stale.
    let generation: Int

    init(limits: EffectiveLimits, generation: Int) {
        self.limits = limits
        self.maxima = LimitMaxima(limits)
        self.generation = generation
    }
}

/// The maxima of `EffectiveLimits` (nil: unlimited) as plain numbers.
///
/// A decision reads only these; copying `EffectiveLimits` itself (two arrays, and
/// where each limit came from) cost a retain and a release per field per decision.
/// Public for a `SharedCounting` authority, which decides on the same numbers.
public struct LimitMaxima: Sendable, Equatable {
    public internal(set) var messagesPerMinute, messagesPerHour, messagesPerDay: Int?
    public internal(set) var recipientsPerMinute, recipientsPerHour, recipientsPerDay: Int?
    public internal(set) var recipientsPerMessage: Int?
    public internal(set) var burstMessages: Int?
    public internal(set) var burstRecipients: Int?
    public internal(set) var detectionWatch: Int?
    public internal(set) var detectionLock: Int?

    init(_ limits: EffectiveLimits) {
        messagesPerMinute = limits.limit(.messages, .minute).value.maximum
        messagesPerHour = limits.limit(.messages, .hour).value.maximum
        messagesPerDay = limits.limit(.messages, .day).value.maximum
        recipientsPerMinute = limits.limit(.recipients, .minute).value.maximum
        recipientsPerHour = limits.limit(.recipients, .hour).value.maximum
        recipientsPerDay = limits.limit(.recipients, .day).value.maximum
        recipientsPerMessage = limits.recipientsPerMessage.value.maximum
        burstMessages = limits.burstMessages.value.maximum
        burstRecipients = limits.burstRecipients.value.maximum
        detectionWatch = limits.detectionWatch.value.maximum
        detectionLock = limits.detectionLock.value.maximum
    }

    public func maximum(_ metric: LimitMetric, _ window: LimitWindow) -> Int? {
        LimitMetric.pick(metric, window, messages: (messagesPerMinute, messagesPerHour, messagesPerDay),
                         recipients: (recipientsPerMinute, recipientsPerHour, recipientsPerDay))
    }
}

/// Interns `SharedLimits` by what they depend on: the account's own override (if it
/// has one) and the groups with overrides it belongs to.
final class LimitProfiles: Sendable {
    struct Key: Hashable {
        var account: AccountName?
        var groups: [String]
        var generation: Int
    }

    private let profiles = Mutex<[Key: SharedLimits]>([:])

    func limits(for account: AccountName, memberOf: [String], settings: PolicySettings, generation: Int) -> SharedLimits {
        let groups = memberOf.filter { settings.limits.groups[$0] != nil }.sorted()
        let key = Key(account: settings.limits.accounts[account] != nil ? account : nil, groups: groups, generation: generation)
        return profiles.withLock { profiles in
            if let shared = profiles[key] { return shared }
            // A reload starts a new generation: forget the old ones.
            if let any = profiles.keys.first, any.generation != generation { profiles.removeAll() }
            let shared = SharedLimits(
                limits: settings.limits.resolve(for: account, memberOf: groups, burst: settings.burst, detection: settings.detection), generation: generation)
            profiles[key] = shared
            return shared
        }
    }
}
