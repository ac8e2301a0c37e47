import VigieCore

/// Reading `[limits]`, `[groups.NAME]`, `[accounts.NAME]`, `[exempt]` and `[burst]`
/// into VigieCore's `PolicySettings`.
///
/// Absent keys: in `[limits]` a key left out keeps its built-in default
/// (`VigieConfiguration.defaultLimits`), so deleting a line never silently lifts a
/// limit; write "unlimited" for that. In `[groups.NAME]` and `[accounts.NAME]` a key
/// left out says nothing and the layer below applies. In `[burst]` a signal left
/// out, or set to 0, is off. `[exempt]` lists are empty unless written.
extension PolicySettings {
    static let limitsKeys = ["recipients_per_message", "messages", "recipients", "group_cache"]
    static let layerKeys = ["recipients_per_message", "messages", "recipients"]
    static let burstKeys = ["messages", "recipients", "window", "refusals_in_a_row"]

    init(
        limits: ConfigSection, groups: ConfigSection, accounts: ConfigSection,
        exempt: ConfigSection, burst: ConfigSection, normalizer: AccountNormalizer
    ) throws(ConfigError) {
        try limits.allowOnly(Self.limitsKeys)
        let defaults = try Self.layer(limits, over: VigieConfiguration.defaultLimits)
        let groupCache = try limits.duration("group_cache", atLeast: .seconds(1), atMost: .seconds(86_400)) ?? .seconds(60)

        var groupLayers: [String: SendLimitsLayer] = [:]
        for entry in groups.table.entries {
            if let problem = TextCheck.systemNameProblem(entry.key) {
                throw groups.keyError(entry.key, "expected a Unix group name, but \(problem)")
            }
            guard let section = try groups.section(entry.key, describing: "recipients_per_message, messages, recipients") else { continue }
            try section.allowOnly(Self.layerKeys)
            groupLayers[entry.key] = try Self.layer(section, over: SendLimitsLayer())
        }

        var accountLayers: [AccountName: SendLimitsLayer] = [:]
        var accountKeys: [AccountName: String] = [:]
        for entry in accounts.table.entries {
            guard let account = normalizer.account(forLogin: entry.key) else {
                throw accounts.keyError(entry.key, "expected an account (a login name), but this one is empty or holds control characters")
            }
            if let earlier = accountKeys[account] {
                throw accounts.keyError(entry.key, "this is account \(account) again (already configured as \(accounts.keyPath(earlier)) at line \(accounts.keyLocation(earlier)?.line ?? 0)); account names are compared in lower case")
            }
            accountKeys[account] = entry.key
            guard let section = try accounts.section(entry.key, describing: "recipients_per_message, messages, recipients") else { continue }
            try section.allowOnly(Self.layerKeys)
            accountLayers[account] = try Self.layer(section, over: SendLimitsLayer())
        }

        try exempt.allowOnly(["accounts", "recipients"])
        var exemptAccounts: Set<AccountName> = []
        for name in try exempt.strings("accounts") ?? [] {
            guard let account = normalizer.account(forLogin: name) else {
                throw exempt.error("accounts", "expected account names, but \(TOMLValue.quote(name)) is empty or holds control characters")
            }
            exemptAccounts.insert(account)
        }
        var exemptRecipients: Set<String> = []
        for recipient in try exempt.strings("recipients") ?? [] {
            let address = EnvelopeAddress.strip(recipient)
            if address.isEmpty || TextCheck.blank(in: address) || TextCheck.controlCharacter(in: address) != nil {
                throw exempt.error("recipients", "expected local parts (postmaster) or addresses (abuse@example.org), but \(TOMLValue.quote(recipient)) is not one")
            }
            exemptRecipients.insert(address)
        }

        try burst.allowOnly(Self.burstKeys)
        let rule = BurstRule(
            messages: try burst.threshold("messages"),
            recipients: try burst.threshold("recipients"),
            window: try burst.duration("window", atLeast: .seconds(1), atMost: .seconds(86_400)) ?? .seconds(600),
            refusalsInARow: try burst.threshold("refusals_in_a_row")
        )

        let policy = LimitPolicy(defaults: defaults, groups: groupLayers, accounts: accountLayers)
        try Self.checkSingleMessageFitsBurst(policy, rule: rule, limits: limits, groups: groups, accounts: accounts,
                                             accountKeys: accountKeys, burst: burst)

        self.init(
            limits: policy,
            burst: rule,
            exemptions: Exemptions(accounts: exemptAccounts, recipients: exemptRecipients),
            groupCacheLifetime: groupCache
        )
    }

    /// One layer: `recipients_per_message` and the `messages` / `recipients` tables of
    /// `per_minute`, `per_hour`, `per_day`, written over `base`.
    static func layer(_ section: ConfigSection, over base: SendLimitsLayer) throws(ConfigError) -> SendLimitsLayer {
        var layer = base
        if let cap = try section.limit("recipients_per_message") { layer.recipientsPerMessage = cap }
        let windowKeys = LimitWindow.allCases.map(\.configKey)
        for metric in LimitMetric.allCases {
            guard let windows = try section.section(metric.rawValue, describing: windowKeys.joined(separator: ", ")) else { continue }
            try windows.allowOnly(windowKeys)
            for window in LimitWindow.allCases {
                guard let value = try windows.limit(window.configKey) else { continue }
                switch metric {
                case .messages: layer.messages[window] = value
                case .recipients: layer.recipients[window] = value
                }
            }
        }
        return layer
    }

    /// Refuses a configuration where one message the limits allow would by itself
    /// trip the burst rule and lock its sender: a group allowed 1000 recipients per
    /// message under `burst.recipients = 400` would lock the newsletter account on
    /// its first send. The burst rule applies to every account alike, so its
    /// recipient threshold must be at least the largest per-message cap.
    /// ("unlimited" caps are not checked: there the burst rule is the only cap left,
    /// as documented in vigie.toml.)
    static func checkSingleMessageFitsBurst(
        _ policy: LimitPolicy, rule: BurstRule, limits: ConfigSection, groups: ConfigSection,
        accounts: ConfigSection, accountKeys: [AccountName: String], burst: ConfigSection
    ) throws(ConfigError) {
        guard let threshold = rule.recipients else { return }
        func check(_ layer: SendLimitsLayer, section: ConfigSection?) throws(ConfigError) {
            guard let cap = layer.recipientsPerMessage?.maximum, cap > threshold else { return }
            let written = section.map { $0.table["recipients_per_message"] != nil } ?? false
            let message = "\(cap) recipients in one message\(written ? "" : " (the built-in recipients_per_message)") would exceed burst.recipients (\(threshold) within \(rule.window.humanReadable)) and lock the sender on the spot; raise burst.recipients to at least \(cap), or lower recipients_per_message"
            if let section, written { throw section.error("recipients_per_message", message) }
            throw burst.error("recipients", message)
        }
        try check(policy.defaults, section: limits)
        for entry in groups.table.entries {
            if let layer = policy.groups[entry.key] { try check(layer, section: try groups.section(entry.key)) }
        }
        for entry in accounts.table.entries {
            guard let account = accountKeys.first(where: { $0.value == entry.key })?.key else { continue }
            if let layer = policy.accounts[account] { try check(layer, section: try accounts.section(entry.key)) }
        }
    }
}
