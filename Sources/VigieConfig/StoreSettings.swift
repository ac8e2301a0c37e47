import VigieSockets

/// `[store]`: where locks, the audit trail, evidence and counters live.
///
/// SQLite (`[daemon] state_path`) is the embedded default for one host; Redis is the
/// store several Postfix hosts share (issue 12): locks, audit and evidence there,
/// and every decision counted there (VigieDaemon/StoreComposition wires it).
public struct StoreSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, Equatable {
        case sqlite, redis
    }

    /// A Redis server as `redis_url` names it.
    public struct RedisServer: Sendable, Equatable {
        public enum Address: Sendable, Equatable {
            case unix(path: String)
            case tcp(host: String, port: Int)
        }
        public var address: Address
        /// SELECT'ed after connecting (`?db=N` or `/N`); 0 by default.
        public var database: Int

        public init(address: Address, database: Int = 0) {
            self.address = address
            self.database = database
        }
    }

    /// `backend`: "sqlite" (default) or "redis".
    public var backend: Backend
    /// `redis_url`; required when the backend is redis.
    public var redisServer: RedisServer?
    /// `redis_password_file`: a file holding the password on one line (never the
    /// password itself in vigie.toml, which every admin reads).
    public var redisPasswordFile: String?
    /// `redis_key_prefix`: every key and channel starts with it.
    public var redisKeyPrefix: String
    /// `redis_timeout`: the longest one call to Redis may take, reconnecting included.
    public var redisTimeout: Duration

    public init(backend: Backend = .sqlite, redisServer: RedisServer? = nil, redisPasswordFile: String? = nil,
                redisKeyPrefix: String = "vigie:", redisTimeout: Duration = .milliseconds(250)) {
        self.backend = backend
        self.redisServer = redisServer
        self.redisPasswordFile = redisPasswordFile
        self.redisKeyPrefix = redisKeyPrefix
        self.redisTimeout = redisTimeout
    }

    static let keys = ["backend", "redis_url", "redis_password_file", "redis_key_prefix", "redis_timeout"]
    /// A decision may wait on Redis for a check and then a lock write: two round
    /// trips must fit well inside `[daemon] decision_timeout` (1 s at least) and far
    /// inside Postfix's milter timeouts.
    static let longestRedisTimeout = Duration.seconds(2)
    static let shortestRedisTimeout = Duration.milliseconds(10)

    init(_ section: ConfigSection, decisionTimeout: Duration) throws(ConfigError) {
        try section.allowOnly(Self.keys)
        var settings = StoreSettings()
        if let text = try section.string("backend") {
            guard let backend = Backend(rawValue: text) else {
                throw section.error("backend", "expected \"sqlite\" or \"redis\", got \"\(text)\"")
            }
            settings.backend = backend
        }
        if let url = try section.string("redis_url") {
            switch Self.parseRedisURL(url) {
            case .success(let server): settings.redisServer = server
            case .failure(let problem): throw section.error("redis_url", problem.message)
            }
        }
        settings.redisPasswordFile = try section.absolutePath("redis_password_file")
        if let prefix = try section.string("redis_key_prefix") {
            if let problem = Self.keyPrefixProblem(prefix) { throw section.error("redis_key_prefix", problem) }
            settings.redisKeyPrefix = prefix
        }
        if let timeout = try section.shortDuration("redis_timeout", atLeast: Self.shortestRedisTimeout, atMost: Self.longestRedisTimeout) {
            guard timeout * 2 <= decisionTimeout else {
                throw section.error("redis_timeout", "\(timeout.milliseconds) ms is more than half of [daemon] decision_timeout (\(decisionTimeout.humanReadable)); a decision may need two round trips to Redis")
            }
            settings.redisTimeout = timeout
        }
        if settings.backend == .redis && settings.redisServer == nil {
            throw section.error("backend", "backend \"redis\" needs redis_url (\"unix:/run/redis/redis.sock\" or \"redis://HOST:PORT/DB\")")
        }
        self = settings
    }

    struct Problem: Error { let message: String }

    /// `unix:/absolute/path.sock`, optionally `?db=N`; or `redis://HOST[:PORT][/N]`
    /// (port 6379 by default, `[v6]` for an IPv6 address). A password in the URL is
    /// refused: it belongs in `redis_password_file`.
    static func parseRedisURL(_ url: String) -> Result<RedisServer, Problem> {
        let expected = "expected \"unix:/path/to/redis.sock\" (optionally \"?db=N\") or \"redis://HOST:PORT/DB\""
        if let problem = TextCheck.controlCharacter(in: url) { return .failure(Problem(message: "the URL contains \(problem)")) }
        if url.hasPrefix("unix:") {
            var path = Substring(url.dropFirst("unix:".count))
            var database = 0
            if let query = path.firstIndex(of: "?") {
                guard let number = databaseNumber(path[path.index(after: query)...], prefix: "db=") else {
                    return .failure(Problem(message: "after '?' expected db=N with N from 0 to \(maximumDatabase), got \"\(path[query...])\""))
                }
                database = number
                path = path[..<query]
            }
            guard path.hasPrefix("/") else {
                return .failure(Problem(message: "the unix socket path must be absolute, got \"\(path)\"; \(expected)"))
            }
            guard path.utf8.count <= MilterSocketAddress.maximumUnixPathBytes else {
                return .failure(Problem(message: "the unix socket path is longer than \(MilterSocketAddress.maximumUnixPathBytes) bytes, which the kernel refuses"))
            }
            return .success(RedisServer(address: .unix(path: String(path)), database: database))
        }
        guard url.hasPrefix("redis://") else { return .failure(Problem(message: "\(expected), got \"\(url)\"")) }
        var rest = Substring(url.dropFirst("redis://".count))
        if rest.contains("@") {
            return .failure(Problem(message: "a password or user in redis_url would be readable by every admin; put the password in the file named by redis_password_file"))
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = databaseNumber(path, prefix: "") else {
                    return .failure(Problem(message: "the database after '/' must be a number from 0 to \(maximumDatabase), got \"\(path)\""))
                }
                database = number
            }
            rest = rest[..<slash]
        }
        if rest.isEmpty { return .failure(Problem(message: "the host is missing; \(expected)")) }
        let host: String
        let port: Int
        switch HostPort.parse(rest, defaultPort: 6379) {
        case .success(let hostPort): (host, port) = (hostPort.host, hostPort.port)
        case .failure(let problem): return .failure(Problem(message: "\(problem); \(expected)"))
        }
        return .success(RedisServer(address: .tcp(host: host, port: port), database: database))
    }

    /// Redis's `databases` is 16 by default; larger servers exist, so only the
    /// protocol's sanity bound is checked here and the server refuses the rest.
    static let maximumDatabase = 1_000_000

    private static func databaseNumber(_ text: Substring, prefix: String) -> Int? {
        guard text.hasPrefix(prefix) else { return nil }
        let digits = text.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits),
              number <= maximumDatabase else { return nil }
        return number
    }

    private static func keyPrefixProblem(_ prefix: String) -> String? {
        if prefix.isEmpty { return "the prefix is empty; keep one (\"vigie:\") so that Vigie's keys are told from others'" }
        if let control = TextCheck.controlCharacter(in: prefix) { return "the prefix contains \(control)" }
        if TextCheck.blank(in: prefix) { return "the prefix contains a blank" }
        if prefix.contains(where: { "*?[]".contains($0) }) {
            return "the prefix contains a glob character (* ? [ ]), which redis-cli --scan --pattern would read as a pattern"
        }
        if prefix.utf8.count > 64 { return "the prefix is longer than 64 bytes" }
        return nil
    }
}
