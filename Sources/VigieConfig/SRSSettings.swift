/// `[srs]`: the Sender Rewriting Scheme services for forwarded mail (the postsrsd
/// replacement). Off by default, so a configuration without a secrets file runs.
public struct SRSSettings: Sendable, Equatable {
    /// Serve the SRS tables (`enabled`).
    public var enabled: Bool
    /// The domain SRS addresses are issued in (`domain`); required when enabled. It
    /// must be a domain this host receives mail for.
    public var domain: String?
    /// One secret per line, first signs, all verify (`secrets_file`); postsrsd's
    /// /etc/postsrsd.secret works as is.
    public var secretsFile: String
    /// Sender domains never rewritten (`excluded_domains`); ".example.org" means every
    /// subdomain. The SRS domain is always excluded.
    public var excludedDomains: [String]
    /// postsrsd 1.x drop-in: tcp_table forward/reverse listeners (`tcp_forward`,
    /// `tcp_reverse`); nil when set to "".
    public var tcpForward: MilterSocketAddress?
    public var tcpReverse: MilterSocketAddress?
    /// postsrsd 2.x style socketmap listener serving forward, reverse, access and
    /// transport (`socketmap`); nil when set to "".
    public var socketmap: MilterSocketAddress?
    /// How long an SRS address stays valid, in whole days (`max_age`).
    public var maximumAgeDays: Int
    /// Hash characters written (`hash_length`), 4 to 8.
    public var hashLength: Int
    /// `base64url` (default: no '/' or '+' in addresses) or `base64` (postsrsd 1.x can
    /// verify every address; `hash_encoding`).
    public var hashEncoding: String
    /// What the `transport` table answers for a forwarded message
    /// (`forward_transport`): the re-injection service of conf/postfix/master.cf.srs.
    public var forwardTransport: String
    /// How long a lookup client may take to send one whole request before its
    /// connection is closed (`request_timeout`); a served connection may then stay
    /// idle 600 s between requests.
    public var requestTimeout: Duration

    public init(
        enabled: Bool = false,
        domain: String? = nil,
        secretsFile: String = "/etc/vigie/srs.secret",
        excludedDomains: [String] = [],
        tcpForward: MilterSocketAddress? = .inet(host: "127.0.0.1", port: 10001),
        tcpReverse: MilterSocketAddress? = .inet(host: "127.0.0.1", port: 10002),
        socketmap: MilterSocketAddress? = .inet(host: "127.0.0.1", port: 10003),
        maximumAgeDays: Int = 21,
        hashLength: Int = 4,
        hashEncoding: String = "base64url",
        forwardTransport: String = "smtp:[127.0.0.1]:10026",
        requestTimeout: Duration = .seconds(30)
    ) {
        self.enabled = enabled
        self.domain = domain
        self.secretsFile = secretsFile
        self.excludedDomains = excludedDomains
        self.tcpForward = tcpForward
        self.tcpReverse = tcpReverse
        self.socketmap = socketmap
        self.maximumAgeDays = maximumAgeDays
        self.hashLength = hashLength
        self.hashEncoding = hashEncoding
        self.forwardTransport = forwardTransport
        self.requestTimeout = requestTimeout
    }

    static let keys = ["enabled", "domain", "secrets_file", "excluded_domains", "tcp_forward", "tcp_reverse", "socketmap",
                       "max_age", "hash_length", "hash_encoding", "forward_transport", "request_timeout"]

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(Self.keys)
        var settings = SRSSettings()
        if let enabled = try section.bool("enabled") { settings.enabled = enabled }
        settings.domain = try section.domain("domain")
        if let path = try section.absolutePath("secrets_file") { settings.secretsFile = path }
        if let domains = try section.strings("excluded_domains") {
            settings.excludedDomains = []
            for domain in domains {
                let bare = domain.hasPrefix(".") ? String(domain.dropFirst()) : domain
                if let problem = TextCheck.domainProblem(bare) {
                    throw section.error("excluded_domains", "expected domains such as \"example.org\" or \".example.org\", but \(TOMLValue.quote(domain)): \(problem)")
                }
                settings.excludedDomains.append(domain.lowercased())
            }
        }
        func listen(_ key: String) throws(ConfigError) -> MilterSocketAddress?? {
            guard let text = try section.string(key) else { return .none }
            if text.isEmpty { return .some(nil) }
            let spec = text.hasPrefix("unix:") || text.hasPrefix("inet:") ? text : "inet:" + text
            switch MilterSocketAddress.parse(spec) {
            case .success(let address): return .some(address)
            case .failure(let problem):
                throw section.error(key, problem.message.replacingOccurrences(of: "milter socket", with: "SRS lookup socket")
                    .replacingOccurrences(of: "the milter protocol has no authentication, so anyone reaching the port could feed Vigie fake mail",
                                          with: "the lookup protocols have no authentication, and whoever reaches the forward table can mint valid SRS addresses"))
            }
        }
        if let value = try listen("tcp_forward") { settings.tcpForward = value }
        if let value = try listen("tcp_reverse") { settings.tcpReverse = value }
        if let value = try listen("socketmap") { settings.socketmap = value }
        if let age = try section.duration("max_age", atLeast: .seconds(86_400), atMost: .seconds(86_400 * 1000)) {
            let seconds = age.components.seconds
            guard seconds % 86_400 == 0 else { throw section.error("max_age", "expected whole days such as \"21d\": SRS stamps count days") }
            settings.maximumAgeDays = Int(seconds / 86_400)
        }
        if let length = try section.integer("hash_length") {
            guard (4...8).contains(length) else { throw section.error("hash_length", "expected 4 to 8 (postsrsd uses 4), got \(length)") }
            settings.hashLength = length
        }
        if let encoding = try section.string("hash_encoding") {
            guard ["base64url", "base64"].contains(encoding) else {
                throw section.error("hash_encoding", "expected \"base64url\" (no '/' or '+' in addresses) or \"base64\" (postsrsd 1.x can verify them), got \(TOMLValue.quote(encoding))")
            }
            settings.hashEncoding = encoding
        }
        if let transport = try section.word("forward_transport", what: "a Postfix transport such as \"smtp:[127.0.0.1]:10026\"") {
            settings.forwardTransport = transport
        }
        if let timeout = try section.duration("request_timeout", atLeast: .seconds(1), atMost: .seconds(600)) {
            settings.requestTimeout = timeout
        }
        if settings.enabled {
            guard settings.domain != nil else {
                throw section.missing("domain", "the SRS domain (a domain this host receives mail for), required when srs.enabled = true")
            }
            guard settings.tcpForward != nil || settings.tcpReverse != nil || settings.socketmap != nil else {
                throw section.error("enabled", "SRS is enabled but tcp_forward, tcp_reverse and socketmap are all \"\": nothing to serve")
            }
            let listeners = [settings.tcpForward, settings.tcpReverse, settings.socketmap].compactMap { $0 }
            if Set(listeners.map(\.description)).count != listeners.count {
                throw section.error("socketmap", "two SRS listeners use the same address")
            }
        }
        self = settings
    }
}
