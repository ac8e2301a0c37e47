import Synchronization

/// Limits in force, shared by every account that resolves to the same profile.
///
/// Most accounts have the defaults; the rest share a few group combinations. One
/// shared, immutable object per profile instead of a copy per account saved about
/// 440 bytes per tracked account (two arrays and three resolved limits each).
final class SharedLimits: Sendable {
    let limits: EffectiveLimits
    /// The settings generation these were resolved under: a reload makes them stale.
    let generation: Int

    init(limits: EffectiveLimits, generation: Int) {
        self.limits = limits
        self.generation = generation
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
                limits: settings.limits.resolve(for: account, memberOf: groups, burst: settings.burst), generation: generation)
            profiles[key] = shared
            return shared
        }
    }
}
