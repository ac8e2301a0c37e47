import VigieCore

/// Reading `[limits]`, `[groups.NAME]`, `[accounts.NAME]`, `[exempt]` and `[burst]`
/// into VigieCore's `PolicySettings`.
///
/// Absent keys: in `[limits]` a key left out keeps its built-in default
/// (`VigieConfiguration.defaultLimits`), so deleting a line never silently lifts a
/// limit; write "unlimited" for that. In `[groups.NAME]` and `[accounts.NAME]` a key
/// left out says nothing and the layer below applies. In `[burst]` a signal left
/// out, or set to 0, is off. `[exempt]` lists are empty unless written.
///
/// A group or an account may carry its own burst thresholds
/// (`[groups.newsletter.burst] recipients = 2000`): a newsletter sender legitimately
/// sends more in ten minutes than a person. The window and the refusals-in-a-row
/// signal stay global.
extension PolicySettings {
    static let limitsKeys = ["recipients_per_message", "messages", "recipients", "group_cache"]
    static let layerKeys = ["recipients_per_message", "messages", "recipients", "burst", "detection"]
    static let burstKeys = ["messages", "recipients", "window", "refusals_in_a_row"]
    static let layerBurstKeys = ["messages", "recipients"]

    init(
        limits: ConfigSection, groups: ConfigSection, accounts: ConfigSection,
        exempt: ConfigSection, burst: ConfigSection, detection: ConfigSection, normalizer: AccountNormalizer
    ) throws(ConfigError) {
        try limits.allowOnly(Self.limitsKeys)
        let defaults = try Self.layer(limits, over: VigieConfiguration.defaultLimits)
        let groupCache = try limits.duration("group_cache", atLeast: .seconds(1), atMost: .seconds(86_400)) ?? .seconds(60)

        var groupLayers: [String: SendLimitsLayer] = [:]
        for entry in groups.table.entries {
            if let problem = TextCheck.systemNameProblem(entry.key) {
                throw groups.keyError(entry.key, "expected a Unix group name, but \(problem)")
            }
            guard let section = try groups.section(entry.key, describing: "recipients_per_message, messages, recipients, burst, detection") else { continue }
            try section.allowOnly(Self.layerKeys)
            groupLayers[entry.key] = try Self.overrideLayer(section)
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
            guard let section = try accounts.section(entry.key, describing: "recipients_per_message, messages, recipients, burst, detection") else { continue }
            try section.allowOnly(Self.layerKeys)
            accountLayers[account] = try Self.overrideLayer(section)
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
            groupCacheLifetime: groupCache,
            detection: try DetectionSettings(detection)
        )
    }

    /// A `[groups.NAME]` or `[accounts.NAME]` layer: the limits, plus optional
    /// `burst` thresholds (`messages`, `recipients`: a positive integer or "unlimited").
    static func overrideLayer(_ section: ConfigSection) throws(ConfigError) -> SendLimitsLayer {
        var layer = try Self.layer(section, over: SendLimitsLayer())
        if let burst = try section.section("burst", describing: layerBurstKeys.joined(separator: ", ")) {
            try burst.allowOnly(layerBurstKeys)
            layer.burstMessages = try burst.limit("messages")
            layer.burstRecipients = try burst.limit("recipients")
        }
        if let detection = try section.section("detection", describing: DetectionSettings.layerKeys.joined(separator: ", ")) {
            try DetectionSettings.readLayer(detection, into: &layer)
        }
        return layer
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
    /// message under a burst threshold of 400 recipients would lock the newsletter
    /// account on its first send. Each layer's cap is checked against the burst
    /// threshold its members certainly get: the layer's own, else the global one
    /// (for an account, else the most generous of the global and every group's,
    /// since its groups are not known here). "unlimited" caps are not checked: there
    /// the burst rule is the only cap left, as vigie.toml documents.
    static func checkSingleMessageFitsBurst(
        _ policy: LimitPolicy, rule: BurstRule, limits: ConfigSection, groups: ConfigSection,
        accounts: ConfigSection, accountKeys: [AccountName: String], burst: ConfigSection
    ) throws(ConfigError) {
        let global: LimitValue = rule.recipients.map { .maximum($0) } ?? .unlimited
        let mostGenerous = policy.groups.values.compactMap(\.burstRecipients).reduce(global, max)

        let defaultCapWritten = limits.table["recipients_per_message"] != nil

        func check(_ layer: SendLimitsLayer, section: ConfigSection, fallback: LimitValue) throws(ConfigError) {
            guard let cap = (layer.recipientsPerMessage ?? policy.defaults.recipientsPerMessage)?.maximum,
                  let threshold = (layer.burstRecipients ?? fallback).maximum, cap > threshold else { return }
            let isOverride = section.path.first == "groups" || section.path.first == "accounts"
            let capWritten = section.table["recipients_per_message"] != nil
            let ownBurst = isOverride ? try section.section("burst") : nil
            let capSource = capWritten ? "" : defaultCapWritten ? " (recipients_per_message from [limits])" : " (the built-in recipients_per_message)"
            let thresholdName = ownBurst != nil && layer.burstRecipients != nil ? section.keyPath("burst") + ".recipients" : "burst.recipients"
            var message = "\(cap) recipients in one message\(capSource) would exceed \(thresholdName)"
                + " (\(threshold) within \(rule.window.humanReadable)) and lock the sender on the spot;"
            message += isOverride
                ? " give \(TOMLKeyPath.join(section.path)) a threshold of at least \(cap) ([\(section.keyPath("burst"))] recipients), or lower recipients_per_message"
                : " raise burst.recipients to at least \(cap), or lower recipients_per_message"
            if capWritten { throw section.error("recipients_per_message", message) }
            if let ownBurst, ownBurst.table["recipients"] != nil { throw ownBurst.error("recipients", message) }
            if defaultCapWritten { throw limits.error("recipients_per_message", message) }
            throw burst.error("recipients", message)
        }

        try check(policy.defaults, section: limits, fallback: global)
        for entry in groups.table.entries {
            if let layer = policy.groups[entry.key], let section = try groups.section(entry.key) {
                try check(layer, section: section, fallback: global)
            }
        }
        for entry in accounts.table.entries {
            guard let account = accountKeys.first(where: { $0.value == entry.key })?.key else { continue }
            if let layer = policy.accounts[account], let section = try accounts.section(entry.key) {
                try check(layer, section: section, fallback: mostGenerous)
            }
        }
    }
}
