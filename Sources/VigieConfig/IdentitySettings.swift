import VigieCore

/// `[identity]`: how Vigie tells a member's mail apart and names the account.
public struct IdentitySettings: Sendable, Equatable {
    /// The `{daemon_name}` macro value that marks local sendmail(1) submissions
    /// (`local_daemon_name`). Postfix's cleanup reports it when master.cf runs the
    /// cleanup service with `-o milter_macro_daemon_name=local-submission`; mail that
    /// carries it and no SASL login is counted against the local sender's account.
    public var localDaemonName: String
    /// Login domains stripped to find the account (`domains`): with
    /// `["example.org"]`, `Alice@example.org` is account `alice`. Empty means any
    /// domain, right for a single-domain host. Lower-cased.
    public var domains: [String]

    public init(localDaemonName: String = "local-submission", domains: [String] = []) {
        self.localDaemonName = localDaemonName
        self.domains = domains
    }

    /// Turns logins and local senders into account names with these domains.
    public var normalizer: AccountNormalizer { AccountNormalizer(localDomains: domains) }

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(["local_daemon_name", "domains"])
        var settings = IdentitySettings()
        if let name = try section.word("local_daemon_name", what: "a daemon name such as local-submission") {
            settings.localDaemonName = name
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
