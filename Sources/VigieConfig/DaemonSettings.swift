/// `[daemon]`: how the `vigie` process runs.
public struct DaemonSettings: Sendable, Equatable {
    /// Where Postfix reaches the milter (`socket`).
    public var socket: MilterSocketAddress
    /// The account the daemon drops to after opening its sockets (`user`).
    public var user: String
    /// The group owning the milter socket, mode 0660, so Postfix can connect (`socket_group`).
    public var socketGroup: String
    /// The SQLite file holding counters, locks and the lock history (`state_path`).
    public var statePath: String
    /// The unix socket vigiectl talks to (`control_socket`).
    public var controlSocket: String
    /// Members of this group may use vigiectl (`admin_group`).
    public var adminGroup: String
    /// How often changed counters are written to the state file (`flush_interval`).
    /// A crash loses at most this much counting; locks are written at once.
    public var flushInterval: Duration
    /// The longest any wait inside a decision may last (`decision_timeout`): the
    /// SQLite busy timeout when a lock is written before the reply, and a group
    /// lookup through NSS. Past it the message is tempfailed, never accepted.
    public var decisionTimeout: Duration
    /// How many accounts the policy keeps in memory (`resident_accounts`): past it,
    /// each flush unloads the least recently active ones, whose counters and
    /// history are in the store already, and a decision reads such an account back.
    /// Bounds the daemon's memory whatever the number of accounts (about 430 bytes
    /// each in memory).
    public var residentAccounts: Int
    public static let residentAccountsRange = 1000...10_000_000

    public init(
        socket: MilterSocketAddress = .unix(path: "/var/spool/postfix/vigie/milter.sock"),
        user: String = "vigie",
        socketGroup: String = "postfix",
        statePath: String = "/var/lib/vigie/state.sqlite",
        controlSocket: String = "/run/vigie/control.sock",
        adminGroup: String = "vigie-admin",
        flushInterval: Duration = .seconds(1),
        decisionTimeout: Duration = .seconds(5),
        residentAccounts: Int = 20_000
    ) {
        self.socket = socket
        self.user = user
        self.socketGroup = socketGroup
        self.statePath = statePath
        self.controlSocket = controlSocket
        self.adminGroup = adminGroup
        self.flushInterval = flushInterval
        self.decisionTimeout = decisionTimeout
        self.residentAccounts = residentAccounts
    }

    static let keys = ["socket", "user", "socket_group", "state_path", "control_socket", "admin_group", "flush_interval",
                       "decision_timeout", "resident_accounts"]

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(Self.keys)
        var settings = DaemonSettings()
        if let text = try section.string("socket") {
            switch MilterSocketAddress.parse(text) {
            case .success(let address): settings.socket = address
            case .failure(let problem): throw section.error("socket", problem.message)
            }
        }
        if let user = try section.systemName("user", what: "a Unix user name") { settings.user = user }
        if let group = try section.systemName("socket_group", what: "a Unix group name") { settings.socketGroup = group }
        if let path = try section.absolutePath("state_path") { settings.statePath = path }
        if let path = try section.absolutePath("control_socket") {
            guard path.utf8.count <= MilterSocketAddress.maximumUnixPathBytes else {
                throw section.error("control_socket", "the path is longer than \(MilterSocketAddress.maximumUnixPathBytes) bytes, which the kernel refuses for a unix socket")
            }
            settings.controlSocket = path
        }
        if let group = try section.systemName("admin_group", what: "a Unix group name") { settings.adminGroup = group }
        if let interval = try section.duration("flush_interval", atLeast: .seconds(1), atMost: .seconds(3600)) {
            settings.flushInterval = interval
        }
        // Under Postfix's milter_command_timeout (30 s by default), with room for the
        // rest of the stage: past that bound Postfix gives up on the whole session.
        if let bound = try section.duration("decision_timeout", atLeast: .seconds(1), atMost: .seconds(20)) {
            settings.decisionTimeout = bound
        }
        if let count = try section.integer("resident_accounts") {
            guard Self.residentAccountsRange.contains(count) else {
                throw section.error("resident_accounts", "expected an integer from \(Self.residentAccountsRange.lowerBound) to \(Self.residentAccountsRange.upperBound), got \(count)")
            }
            settings.residentAccounts = count
        }
        if case .unix(let path) = settings.socket, path == settings.controlSocket {
            throw section.error(section.table["control_socket"] != nil ? "control_socket" : "socket",
                                "the milter socket and the control socket are the same file (\(path))")
        }
        self = settings
    }
}
