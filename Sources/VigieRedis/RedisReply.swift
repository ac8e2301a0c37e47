/// One reply from the server, as RESP2 (the protocol hiredis 0.14 speaks) types it.
///
/// Bulk strings stay bytes: counters and histories are binary snapshots, and text
/// is decoded by the caller who knows it is text.
public enum RedisReply: Sendable, Equatable {
    /// A status line such as `OK` or `QUEUED` (REDIS_REPLY_STATUS).
    case status(String)
    /// An error reply, text without the leading `-` (REDIS_REPLY_ERROR). A failed
    /// top-level command is thrown as a `RedisError` of kind `.server` instead; this
    /// case is met inside arrays (EXEC, a pipeline, a script's table).
    case error(String)
    /// REDIS_REPLY_INTEGER
    case integer(Int64)
    /// A bulk string (REDIS_REPLY_STRING).
    case bulk([UInt8])
    /// A missing key or field (REDIS_REPLY_NIL).
    case `nil`
    /// REDIS_REPLY_ARRAY
    case array([RedisReply])

    /// The bulk string as UTF-8 text, or nil for anything else.
    public var text: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let status): status
        default: nil
        }
    }

    /// The integer, also when the server sent it as a bulk string of digits (HGET of
    /// a number written with HSET).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var elements: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }
}
