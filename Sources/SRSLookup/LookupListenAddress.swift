/// Where a lookup service listens: a TCP host (numeric) and port, or a unix socket
/// path (Postfix: `socketmap:unix:PATH:name`). The configuration reads and checks
/// the text (`[srs]` in VigieConfig: loopback only, the one host:port syntax).
///
/// Security: the lookup protocols carry no authentication, and the forward table signs
/// whatever it is asked: anyone reaching it can mint valid SRS addresses (and so relay
/// bounces through this host). Only loopback hosts are accepted.
public enum LookupListenAddress: Sendable, Equatable, CustomStringConvertible {
    case inet(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case .inet(let host, let port): host.contains(":") ? "inet:[\(host)]:\(port)" : "inet:\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
