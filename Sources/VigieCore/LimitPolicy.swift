/// The configured limits: defaults, then overrides by Unix group, then by account.
///
/// A group override replaces the default for that limit (a `newcomers` group may be
/// stricter). When an account is in several groups with overrides, each limit takes
/// the most generous value among those groups: the club grants rights by group
/// (newsletter senders are in `newsletter`), and one more group must not take a
/// right away. An account override wins over everything.
public struct LimitPolicy: Sendable, Equatable {
    public var defaults: SendLimitsLayer
    public var groups: [String: SendLimitsLayer]
    public var accounts: [AccountName: SendLimitsLayer]

    public init(
        defaults: SendLimitsLayer,
        groups: [String: SendLimitsLayer] = [:],
        accounts: [AccountName: SendLimitsLayer] = [:]
    ) {
        self.defaults = defaults
        self.groups = groups
        self.accounts = accounts
    }

    /// The limits in force for `account`, a member of `memberOf` Unix groups. Burst
    /// thresholds the layers leave unset come from `burst` (the global rule).
    public func resolve(for account: AccountName, memberOf: [String], burst: BurstRule = .disabled,
                        detection: DetectionSettings = .disabled) -> EffectiveLimits {
        let groupLayers = memberOf.sorted().compactMap { name in groups[name].map { (name, $0) } }
        let accountLayer = accounts[account]

        func pick(_ read: (SendLimitsLayer) -> LimitValue?, fallback: LimitValue = .unlimited) -> ResolvedLimit {
            if let value = accountLayer.flatMap(read) { return ResolvedLimit(value: value, source: .account) }
            var best: ResolvedLimit?
            for (name, layer) in groupLayers {
                guard let value = read(layer) else { continue }
                if best == nil || best!.value < value { best = ResolvedLimit(value: value, source: .group(name)) }
            }
            if let best { return best }
            return ResolvedLimit(value: read(defaults) ?? fallback, source: .defaults)
        }

        return EffectiveLimits(
            messages: LimitWindow.allCases.map { window in pick { $0.messages[window] } },
            recipients: LimitWindow.allCases.map { window in pick { $0.recipients[window] } },
            recipientsPerMessage: pick { $0.recipientsPerMessage },
            burstMessages: pick({ $0.burstMessages }, fallback: burst.messages.map { .maximum($0) } ?? .unlimited),
            burstRecipients: pick({ $0.burstRecipients }, fallback: burst.recipients.map { .maximum($0) } ?? .unlimited),
            detectionWatch: pick({ $0.detectionWatch }, fallback: detection.enabled ? detection.watch.map { .maximum($0) } ?? .unlimited : .unlimited),
            detectionLock: pick({ $0.detectionLock }, fallback: detection.enabled ? detection.lock.map { .maximum($0) } ?? .unlimited : .unlimited)
        )
    }

    /// The groups that carry an override: only these need an NSS lookup.
    public var groupsWithOverrides: Set<String> { Set(groups.keys) }
}
