/// A Lua script run on the server with EVALSHA (`RedisConnection.evaluate`).
///
/// Scripts are how Vigie makes several keys change together, atomically across
/// hosts: Redis runs a script to its end before any other command.
/// Known limitation: the scripts build some key names from the prefix inside Lua
/// (a lock's key depends on the id INCR gives it), which Redis Cluster forbids;
/// Vigie's store is for a standalone server (or a replicated pair with Sentinel).
public struct RedisScript: Sendable, Equatable {
    /// For error messages: "script record-lock: ...".
    public let name: String
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}
