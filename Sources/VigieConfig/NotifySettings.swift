/// `[notify]`: mail Vigie sends itself when it locks an account.
///
/// Security: `admin`, `from` and `member_domain` end up on sendmail(1)'s command
/// line, so none may start with '-' (it would be read as an option).
public struct NotifySettings: Sendable, Equatable {
    /// Whether Vigie mails anyone at all (`enabled`).
    public var enabled: Bool
    /// Who hears about every lock (`admin`): a local user or an address.
    public var admin: String
    /// Whether the locked member is mailed too (`member`).
    public var member: Bool
    /// The sendmail(1) program used to send (`sendmail`).
    public var sendmail: String
    /// The envelope sender and From of Vigie's mail (`from`).
    public var from: String
    /// The domain appended to an account name to mail its member (`member_domain`);
    /// nil leaves the name bare, for local delivery on this host.
    public var memberDomain: String?

    public init(enabled: Bool = true, admin: String = "root", member: Bool = true,
                sendmail: String = "/usr/sbin/sendmail", from: String = "vigie", memberDomain: String? = nil) {
        self.enabled = enabled
        self.admin = admin
        self.member = member
        self.sendmail = sendmail
        self.from = from
        self.memberDomain = memberDomain
    }

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(["enabled", "admin", "member", "sendmail", "from", "member_domain"])
        var settings = NotifySettings()
        if let enabled = try section.bool("enabled") { settings.enabled = enabled }
        if let admin = try section.word("admin", what: "a local user or an address") { settings.admin = admin }
        if let member = try section.bool("member") { settings.member = member }
        if let sendmail = try section.absolutePath("sendmail") { settings.sendmail = sendmail }
        if let from = try section.word("from", what: "a local user or an address") { settings.from = from }
        settings.memberDomain = try section.domain("member_domain")
        self = settings
    }
}
