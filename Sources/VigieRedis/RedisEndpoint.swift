import VigieSockets

/// Where the Redis server listens: a unix socket (`unixsocket` in redis.conf, the
/// usual choice when the server runs on the same host, and it needs no password on
/// the network) or a host name or address and a TCP port (hiredis resolves names).
/// The same endpoint type as every other socket of Vigie's.
public typealias RedisEndpoint = StreamSocket.Endpoint

/// How to reach and log in to the server.
public struct RedisConnectionOptions: Sendable, Equatable {
    public var endpoint: RedisEndpoint
    /// SELECT'ed after connecting; 0 is Redis's default.
    public var database: Int
    /// Sent with AUTH after connecting. Never shown in a description or error.
    public var password: String?
    /// The budget of one call, everything included (connecting again, AUTH,
    /// SELECT, a script's load, the command and its reply): a decision waits on
    /// Redis at most about this long per call.
    public var timeout: Duration
    /// After a failed connect, commands fail at once for this long instead of
    /// trying again: against a host that drops packets every decision would
    /// otherwise pay the whole connect timeout.
    public var reconnectBackoff: Duration

    public init(endpoint: RedisEndpoint, database: Int = 0, password: String? = nil,
                timeout: Duration = .milliseconds(250), reconnectBackoff: Duration = .seconds(1)) {
        self.endpoint = endpoint
        self.database = database
        self.password = password
        self.timeout = timeout
        self.reconnectBackoff = reconnectBackoff
    }
}
