import VigieSockets

/// `[metrics]`: the Prometheus endpoint.
public struct MetricsSettings: Sendable, Equatable {
    /// Loopback host and port serving `GET /metrics` (`listen`, e.g.
    /// "127.0.0.1:9469"); nil turns the endpoint off. Loopback only: the counters
    /// say how much mail members send, which is nobody else's business.
    public var listenHost: String?
    public var listenPort: Int?

    public init(listenHost: String? = "127.0.0.1", listenPort: Int? = 9469) {
        self.listenHost = listenHost
        self.listenPort = listenPort
    }

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(["listen"])
        guard let listen = try Self.listen(section, key: "listen") else {
            self.init()
            return
        }
        self.init(listenHost: listen.host, listenPort: listen.port)
    }

    /// Reads a loopback "HOST:PORT" for a metrics endpoint: nil when the key is
    /// absent, (nil, nil) for "" (off).
    static func listen(_ section: ConfigSection, key: String) throws(ConfigError) -> (host: String?, port: Int?)? {
        guard let listen = try section.string(key) else { return nil }
        if listen.isEmpty { return (nil, nil) }
        guard case .success(let hostPort) = HostPort.parse(listen) else {
            throw section.error(key, "expected \"HOST:PORT\" on loopback (e.g. \"127.0.0.1:9469\" or \"[::1]:9469\") or \"\" for off, got \"\(listen)\"")
        }
        let (host, port) = (hostPort.host, hostPort.port)
        guard host == "127.0.0.1" || host == "::1" || host == "localhost" else {
            throw section.error(key, "the metrics endpoint must listen on loopback (127.0.0.1 or ::1), got \"\(host)\"")
        }
        return (host == "localhost" ? "127.0.0.1" : host, port)
    }
}

/// `[logging]`: where decision lines go.
public struct LoggingSettings: Sendable, Equatable {
    public enum Destination: String, Sendable, Equatable {
        /// syslog(3) with the mail facility: lines land in /var/log/mail.log next
        /// to Postfix's own.
        case syslog
        /// Standard error: for systemd (journald) and tests.
        case stderr
    }
    public var destination: Destination
    /// Lines below this level are dropped: "info" (one line per decision) or "notice"
    /// (refusals, locks and errors only), "warning", "error".
    public var level: String

    public init(destination: Destination = .syslog, level: String = "info") {
        self.destination = destination
        self.level = level
    }

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(["destination", "level"])
        var settings = LoggingSettings()
        if let raw = try section.string("destination") {
            guard let destination = Destination(rawValue: raw) else {
                throw section.error("destination", "expected \"syslog\" or \"stderr\", got \"\(raw)\"")
            }
            settings.destination = destination
        }
        if let level = try section.string("level") {
            guard ["debug", "info", "notice", "warning", "error"].contains(level) else {
                throw section.error("level", "expected one of debug, info, notice, warning, error, got \"\(level)\"")
            }
            settings.level = level
        }
        self = settings
    }
}
