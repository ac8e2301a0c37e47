/// A failure talking to Redis, worded for the admin who reads it in the log: what
/// Vigie was doing, what went wrong, and, when we know, what to do about it.
///
///     cannot record the lock of alice in redis unix:/run/redis/redis.sock: timed out
///     after 250 ms waiting for the server; is redis-server running and not swapping?
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure. A struct rather than an enum so that kinds can be added
    /// without breaking callers that switch over them.
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The server could not be reached, or the connection broke (refused, reset,
        /// closed, no such socket). The command did not run, or may have: a store
        /// treats the outcome as unknown.
        public static let connection = Kind(rawValue: "connection")
        /// No answer within the configured timeout (a stopped or overloaded server,
        /// a dead network path). The connection is dropped: a late answer must never
        /// be read as the reply to the next command.
        public static let timeout = Kind(rawValue: "timeout")
        /// The server answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
        public static let server = Kind(rawValue: "server")
        /// AUTH or SELECT refused: wrong password, no such database.
        public static let authentication = Kind(rawValue: "authentication")
        /// The bytes on the wire are not RESP (REDIS_ERR_PROTOCOL), or a reply had
        /// a shape the caller did not expect.
        public static let `protocol` = Kind(rawValue: "protocol")
        /// The write would break a rule of the store: evidence for a lock that does
        /// not exist, a key of the wrong type. Nothing was written.
        public static let constraint = Kind(rawValue: "constraint")
        /// A stored value Vigie cannot read (edited by hand, or written by a newer Vigie).
        public static let data = Kind(rawValue: "data")
        /// A bad option or password file, found before anything was sent.
        public static let configuration = Kind(rawValue: "configuration")

        public var description: String { rawValue }
    }

    public var kind: Kind
    /// What went wrong: hiredis's or the server's text, or ours.
    public var message: String
    /// What Vigie was doing: "cannot record the lock of alice in redis unix:/run/redis.sock".
    public var context: String
    /// What the admin can do about it, when that is known.
    public var remedy: String?

    public init(_ kind: Kind, _ message: String, context: String = "", remedy: String? = nil) {
        self.kind = kind
        self.message = message
        self.context = context
        self.remedy = remedy
    }

    /// True for a failure that says nothing about the data: the store can fall back
    /// to local limits and try again later.
    public var isUnavailable: Bool { kind == .connection || kind == .timeout }

    public var description: String {
        var text = context.isEmpty ? message : "\(context): \(message)"
        if let remedy { text += "; \(remedy)" }
        return text
    }
}
