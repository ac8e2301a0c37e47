import VigieCore

/// `[identity]`: how Vigie tells a member's mail apart and names the account.
public struct IdentitySettings: Sendable, Equatable {
    /// The `{daemon_name}` macro value that marks local sendmail(1) submissions
    /// (`local_daemon_name`). Postfix's cleanup reports it when master.cf runs the
    /// cleanup service with `-o milter_macro_daemon_name=local-submission`; mail that
    /// carries it and no SASL login is counted against the local sender's account.
    public var localDaemonName: String
    /// The `{daemon_name}` macro value that marks mail a process on the host hands
    /// to smtpd without a login (`relay_daemon_name`): master.cf runs a dedicated
    /// loopback smtpd with `-o milter_macro_daemon_name=local-relay`
    /// (conf/postfix/master.cf.relay). Such mail is counted against the local part
    /// of its envelope sender, or `relay:foreign` for a sender of another domain.
    public var relayDaemonName: String
    /// Login domains stripped to find the account (`domains`): with
    /// `["example.org"]`, `Alice@example.org` is account `alice`. Empty means any
    /// domain, right for a single-domain host. Lower-cased.
    public var domains: [String]

    public init(localDaemonName: String = "local-submission", relayDaemonName: String = "local-relay",
                domains: [String] = []) {
        self.localDaemonName = localDaemonName
        self.relayDaemonName = relayDaemonName
        self.domains = domains
    }

    /// Turns logins and local senders into account names with these domains.
    public var normalizer: AccountNormalizer { AccountNormalizer(localDomains: domains) }

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(["local_daemon_name", "relay_daemon_name", "domains"])
        var settings = IdentitySettings()
        if let name = try section.word("local_daemon_name", what: "a daemon name such as local-submission") {
            settings.localDaemonName = name
        }
        if let name = try section.word("relay_daemon_name", what: "a daemon name such as local-relay") {
            settings.relayDaemonName = name
        }
        if settings.relayDaemonName == settings.localDaemonName {
            // One name for both would judge relayed SMTP as sendmail mail (550 at end
            // of message) or the reverse: refuse rather than guess.
            let key = section.table["relay_daemon_name"] != nil ? "relay_daemon_name" : "local_daemon_name"
            throw section.error(key, "relay_daemon_name and local_daemon_name are both \(TOMLValue.quote(settings.localDaemonName)); give the relay listener (master.cf -o milter_macro_daemon_name) a name of its own, such as local-relay")
        }
        if let domains = try section.strings("domains") {
            var seen: [String] = []
            for domain in domains {
                if let problem = TextCheck.domainProblem(domain) {
                    throw section.error("domains", "expected domain names such as example.org, but \(TOMLValue.quote(domain)) is wrong: \(problem)")
                }
                let lowered = domain.lowercased()
                if !seen.contains(lowered) { seen.append(lowered) }
            }
            settings.domains = seen
        }
        self = settings
    }
}
