#if canImport(Glibc)
import Glibc
#endif

/// A failed socket call, with errno's meaning kept so a caller can say what to do.
/// A deadline that passed is `ETIMEDOUT` (`timedOut`), whatever the call.
public struct SocketFailure: Error, Sendable, CustomStringConvertible {
    /// The call that failed, e.g. "connect", "bind", "receive".
    public var operation: String
    /// Where: an endpoint or address, as text.
    public var target: String
    public var code: Int32

    public var timedOut: Bool { code == ETIMEDOUT }

    public var description: String { "\(operation) \(target): \(String(cString: strerror(code)))" }
}
