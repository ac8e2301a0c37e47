import VigieCore

/// Everything `vigie` and `vigiectl` are configured with, checked and turned into
/// VigieCore values. Built by `ConfigLoader`.
///
/// Diagnostics: nothing here is half-valid; a file that loads gave every key a
/// sensible value, and one that does not is refused whole with a `ConfigError`.
public struct VigieConfiguration: Sendable, Equatable {
    /// `[daemon]`
    public var daemon: DaemonSettings
    /// `[identity]`
    public var identity: IdentitySettings
    /// `[limits]`, `[groups.NAME]`, `[accounts.NAME]`, `[exempt]`, `[burst]`
    public var policy: PolicySettings
    /// `[notices]`, with each language's texts loaded
    public var notices: NoticeSettings
    /// `[notify]`
    public var notify: NotifySettings
    /// `[postfix]`
    public var postfix: PostfixSettings
    /// `[metrics]`
    public var metrics: MetricsSettings = MetricsSettings()
    /// `[logging]`
    public var logging: LoggingSettings = LoggingSettings()
    /// `[srs]`
    public var srs: SRSSettings = SRSSettings()
    /// `[inbound]`
    public var inbound: InboundSettings = InboundSettings()
    /// `[store]`
    public var store: StoreSettings = StoreSettings()
    /// `[dkim.sign]` and its `[[dkim.sign.key]]` tables
    public var signing: SigningSettings = SigningSettings()
    /// The files actually read, in order: the main file, conf.d files, then the
    /// notice files.
    public var sources: [String]

    public init(
        daemon: DaemonSettings = DaemonSettings(),
        identity: IdentitySettings = IdentitySettings(),
        policy: PolicySettings = VigieConfiguration.defaultPolicy,
        notices: NoticeSettings = NoticeSettings(),
        notify: NotifySettings = NotifySettings(),
        postfix: PostfixSettings = PostfixSettings(),
        sources: [String] = []
    ) {
        self.daemon = daemon
        self.identity = identity
        self.policy = policy
        self.notices = notices
        self.notify = notify
        self.postfix = postfix
        self.sources = sources
    }

    /// The limits an account has when `[limits]` says nothing: sized for a small
    /// community host, where a person rarely sends 20 messages in a minute or 500 in
    /// a day, while the 3,600 an hour of a stolen password stop within a minute.
    public static let defaultLimits = SendLimitsLayer(
        messages: [.minute: .maximum(20), .hour: .maximum(150), .day: .maximum(500)],
        recipients: [.minute: .maximum(100), .hour: .maximum(500), .day: .maximum(1500)],
        recipientsPerMessage: .maximum(50)
    )

    /// The policy of an empty configuration: default limits, no burst lock, no
    /// exemptions, group memberships cached 60 s.
    public static let defaultPolicy = PolicySettings(
        limits: LimitPolicy(defaults: defaultLimits),
        burst: .disabled,
        exemptions: Exemptions(),
        groupCacheLifetime: .seconds(60),
        detection: DetectionSettings()
    )

    static let sections = ["daemon", "identity", "limits", "groups", "accounts", "exempt", "burst", "detection", "notices", "notify", "postfix", "metrics", "logging", "srs", "inbound", "store", "dkim"]

    /// Reads the merged tables of every configuration file.
    ///
    /// - Parameters:
    ///   - mainFile: the main file; the default notices directory is next to it.
    ///   - sources: the configuration files that were merged into `table`.
    init(table: TOMLTable, mainFile: String, sources: [String]) throws(ConfigError) {
        let root = ConfigSection(table: table, path: [], location: nil, file: mainFile)
        try root.allowOnly(Self.sections)
        func section(_ key: String, _ expected: String) throws(ConfigError) -> ConfigSection {
            try root.sectionOrEmpty(key, describing: expected)
        }
        let daemon = try DaemonSettings(section("daemon", DaemonSettings.keys.joined(separator: ", ")))
        let identity = try IdentitySettings(section("identity", "local_daemon_name, domains"))
        let policy = try PolicySettings(
            limits: section("limits", "recipients_per_message, messages, recipients, group_cache"),
            groups: section("groups", "one [groups.NAME] table per Unix group"),
            accounts: section("accounts", "one [accounts.NAME] table per account"),
            exempt: section("exempt", "accounts, recipients"),
            burst: section("burst", "messages, recipients, window, refusals_in_a_row"),
            detection: section("detection", DetectionSettings.keys.joined(separator: ", ")),
            normalizer: identity.normalizer
        )
        var files = sources
        let notices = try NoticeSettings(
            section("notices", "languages, contact, directory, time_zone"),
            defaultDirectory: ConfigFile.join(ConfigFile.directory(of: mainFile), "notices"),
            files: &files
        )
        let notify = try NotifySettings(section("notify", "enabled, admin, member, sendmail, from, member_domain"))
        let postfix = try PostfixSettings(section("postfix", "config_directory, postsuper"))
        self.init(daemon: daemon, identity: identity, policy: policy, notices: notices,
                  notify: notify, postfix: postfix, sources: files)
        self.srs = try SRSSettings(section("srs", SRSSettings.keys.joined(separator: ", ")))
        self.metrics = try MetricsSettings(section("metrics", "listen"))
        self.logging = try LoggingSettings(section("logging", "destination, level"))
        self.inbound = try InboundSettings(section("inbound", InboundSettings.keys.joined(separator: ", ")))
        let dkim = try section("dkim", "[dkim.sign]")
        try dkim.allowOnly(["sign"])
        self.signing = try SigningSettings(dkim.sectionOrEmpty("sign", describing: SigningSettings.keys.joined(separator: ", ")))
        self.store = try StoreSettings(section("store", StoreSettings.keys.joined(separator: ", ")),
                                       decisionTimeout: daemon.decisionTimeout)
    }
}
