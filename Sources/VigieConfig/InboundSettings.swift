import VigieAuth
import VigieDMARC
import VigieDNS
import VigieSockets

/// `[inbound]`: the SPF and DKIM checks on mail from the internet, run by the
/// second daemon role (`vigie --role inbound`) attached to the port-25 smtpd only.
///
/// The role has its own milter socket: libmilter allows one registration per
/// process, and the inbound checks need stages (connect, HELO, headers, body) the
/// lean submission path must not pay for.
public struct InboundSettings: Sendable, Equatable {

    /// Where the port-25 smtpd reaches the inbound role (`socket`).
    public var socket: MilterSocketAddress
    /// The authserv-id written in Authentication-Results (`authserv_id`); nil means
    /// the host name. Any A-R already in a message that claims it is deleted.
    public var authservID: String?
    /// DNS servers (`nameservers`, "IP" or "IP:PORT"), parsed here to the addresses
    /// the resolver uses, so a configuration that checks is one that starts; empty
    /// means /etc/resolv.conf.
    public var nameservers: [SocketAddress]
    /// Time allowed for all DNS lookups of one check (`dns_timeout`): a dead DNS
    /// server gives temperror after this, never a stuck session.
    public var dnsTimeout: Duration
    /// Action per SPF result (`spf_fail`, `spf_softfail`, `spf_neutral`,
    /// `spf_temperror`, `spf_permerror`). pass and none are never refused.
    public var spfActions: [SPFResult: InboundAction]
    /// Also add a Received-SPF header (`received_spf`).
    public var receivedSPF: Bool
    /// DKIM signatures verified per message at most (`max_signatures`); the rest are
    /// reported as not checked.
    public var maximumSignatures: Int
    /// This role's own Prometheus endpoint (`metrics_listen`, loopback "HOST:PORT",
    /// "" for off): a second process cannot share the submission role's port.
    public var metricsHost: String? = "127.0.0.1"
    public var metricsPort: Int? = 9470
    /// DMARC on mail from the internet (`dmarc`): on by default, reporting only
    /// (`dmarc=` in Authentication-Results) until an action is chosen below.
    public var dmarc = true
    /// What to do with DMARC failures under p=quarantine (`dmarc_quarantine`: tag
    /// or hold) and p=reject (`dmarc_reject`: tag, hold or reject).
    public var dmarcActions = DMARCActions.default
    /// The Public Suffix List for organisational domains (`public_suffix_list`),
    /// read when the inbound role starts (`loadPublicSuffixList`).
    public var publicSuffixListPath = "/usr/share/publicsuffix/public_suffix_list.dat"
    /// Where `public_suffix_list` was set (or the section, or the main file), so a
    /// list that does not load at start is refused at file:line:key like any value.
    var publicSuffixListOrigin = ConfigError(file: "vigie.toml", line: nil, key: "inbound.public_suffix_list", message: "")

    public init(
        socket: MilterSocketAddress = .unix(path: "/var/spool/postfix/vigie/inbound.sock"),
        authservID: String? = nil,
        nameservers: [SocketAddress] = [],
        dnsTimeout: Duration = .seconds(10),
        spfActions: [SPFResult: InboundAction] = [.temperror: .tempfail],
        receivedSPF: Bool = false,
        maximumSignatures: Int = 5
    ) {
        self.socket = socket
        self.authservID = authservID
        self.nameservers = nameservers
        self.dnsTimeout = dnsTimeout
        self.spfActions = spfActions
        self.receivedSPF = receivedSPF
        self.maximumSignatures = maximumSignatures
    }

    /// The policy keys and the actions each allows.
    static let spfKeys: [(key: String, result: SPFResult, allowed: [InboundAction])] = [
        ("spf_fail", .fail, [.reject, .tag]),
        ("spf_softfail", .softfail, [.reject, .tag]),
        ("spf_neutral", .neutral, [.reject, .tag]),
        ("spf_temperror", .temperror, [.tempfail, .tag]),
        ("spf_permerror", .permerror, [.reject, .tag]),
    ]

    /// The DMARC action keys and the actions each allows.
    static let dmarcKeys: [(key: String, allowed: [DMARCAction])] = [
        ("dmarc_quarantine", [.tag, .hold]),
        ("dmarc_reject", [.tag, .hold, .reject]),
    ]

    static let keys = ["socket", "authserv_id", "nameservers", "dns_timeout", "received_spf", "max_signatures", "metrics_listen",
                       "dmarc", "public_suffix_list"]
        + spfKeys.map(\.key) + dmarcKeys.map(\.key)

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(Self.keys)
        var settings = InboundSettings()
        if let text = try section.string("socket") {
            switch MilterSocketAddress.parse(text) {
            case .success(let address): settings.socket = address
            case .failure(let problem): throw section.error("socket", problem.message)
            }
        }
        if let id = try section.word("authserv_id", what: "a host name such as \"mx.example.org\"") {
            guard !id.isEmpty, !id.contains(";"), !id.contains("(") else {
                throw section.error("authserv_id", "expected a host name such as \"mx.example.org\", got \"\(id)\"")
            }
            settings.authservID = id
        }
        if let servers = try section.strings("nameservers") {
            settings.nameservers = try servers.map { text throws(ConfigError) in
                switch Nameserver.parse(text) {
                case .success(let address): return address
                case .failure(let problem):
                    throw section.error("nameservers", "expected \"IP\" or \"IP:PORT\" entries such as \"127.0.0.1:53\" (an address, not a name: the resolver cannot look up its own server), got \"\(text)\": \(problem)")
                }
            }
        }
        if let timeout = try section.duration("dns_timeout", atLeast: .seconds(1), atMost: .seconds(120)) {
            settings.dnsTimeout = timeout
        }
        for entry in Self.spfKeys {
            guard let raw = try section.string(entry.key) else { continue }
            guard let action = InboundAction(rawValue: raw), entry.allowed.contains(action) else {
                let choices = entry.allowed.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
                throw section.error(entry.key, "expected \(choices), got \"\(raw)\"")
            }
            settings.spfActions[entry.result] = action
        }
        if let flag = try section.bool("received_spf") { settings.receivedSPF = flag }
        if let listen = try MetricsSettings.listen(section, key: "metrics_listen") {
            settings.metricsHost = listen.host
            settings.metricsPort = listen.port
        }
        if let count = try section.integer("max_signatures") {
            guard (1...50).contains(count) else {
                throw section.error("max_signatures", "expected an integer from 1 to 50, got \(count)")
            }
            settings.maximumSignatures = count
        }
        if let flag = try section.bool("dmarc") { settings.dmarc = flag }
        for entry in Self.dmarcKeys {
            guard let raw = try section.string(entry.key) else { continue }
            guard let action = DMARCAction(rawValue: raw), entry.allowed.contains(action) else {
                let choices = entry.allowed.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw section.error(entry.key, "expected one of \(choices), got \"\(raw)\"")
            }
            if entry.key == "dmarc_quarantine" { settings.dmarcActions.quarantine = action } else { settings.dmarcActions.reject = action }
        }
        if let path = try section.absolutePath("public_suffix_list") { settings.publicSuffixListPath = path }
        settings.publicSuffixListOrigin = section.error("public_suffix_list", "")
        self = settings
    }
}
