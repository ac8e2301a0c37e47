import VigieSockets

/// Where the daemon listens for Postfix.
///
/// Config syntax: `unix:/var/spool/postfix/vigie/milter.sock` or
/// `inet:127.0.0.1:8899` (`inet:[::1]:8899` for IPv6): after `inet:`, VigieSockets'
/// one host:port syntax (`HostPort`).
///
/// Security: the milter protocol has no authentication, so an inet socket must be
/// on loopback; anyone who could reach it could feed Vigie fake traffic (inflate a
/// member's counters, trip a lock) or learn who sends mail. A unix socket is
/// preferred anyway: libmilter over loopback TCP stalls about 44 ms per message.
public enum MilterSocketAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case inet(host: String, port: Int)

    /// The longest unix socket path the kernel accepts (`sun_path` is 108 bytes
    /// with its terminating NUL on Linux).
    public static let maximumUnixPathBytes = 107

    /// Parses the config syntax; nil when it is not valid (see `problem(with:)`).
    public init?(_ text: String) {
        guard case .success(let address) = Self.parse(text) else { return nil }
        self = address
    }

    /// The address in libmilter's syntax, for `smfi_setconn`: `unix:/path`,
    /// `inet:PORT@HOST`, or `inet6:PORT@HOST` for an IPv6 host.
    public var libmilterSpec: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .inet(let host, let port): host.contains(":") ? "inet6:\(port)@\(host)" : "inet:\(port)@\(host)"
        }
    }

    /// The address in the config syntax.
    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .inet(let host, let port): host.contains(":") ? "inet:[\(host)]:\(port)" : "inet:\(host):\(port)"
        }
    }

    /// True for 127.0.0.0/8, ::1 and `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        let values = octets.compactMap { octet in octet.count <= 3 && octet.allSatisfy(\.isASCII) ? UInt8(octet) : nil }
        return values.count == 4 && values[0] == 127
    }

    /// The address, or what is wrong with `text`, in words for the admin.
    static func parse(_ text: String) -> Result<MilterSocketAddress, SyntaxProblem> {
        let syntax = "expected \"unix:/absolute/path\" or \"inet:127.0.0.1:PORT\""
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            if path.isEmpty { return .failure(SyntaxProblem("the unix socket path is empty; \(syntax)")) }
            if let control = TextCheck.controlCharacter(in: path) { return .failure(SyntaxProblem("the path contains \(control)")) }
            if !path.hasPrefix("/") { return .failure(SyntaxProblem("the unix socket path must be absolute, got \(path)")) }
            if path.utf8.count > maximumUnixPathBytes {
                return .failure(SyntaxProblem("the unix socket path is longer than \(maximumUnixPathBytes) bytes, which the kernel refuses"))
            }
            return .success(.unix(path: path))
        }
        if text.hasPrefix("inet:") {
            let host: String
            let port: Int
            switch HostPort.parse(text.dropFirst("inet:".count)) {
            case .success(let hostPort): (host, port) = (hostPort.host, hostPort.port)
            case .failure(let problem): return .failure(SyntaxProblem("\(problem); \(syntax)"))
            }
            guard isLoopback(host) else {
                return .failure(SyntaxProblem(
                    "the milter socket must listen on loopback (127.0.0.1, ::1 or localhost), got \(TOMLValue.quote(host)): the milter protocol has no authentication, so anyone reaching the port could feed Vigie fake mail"
                ))
            }
            return .success(.inet(host: host, port: port))
        }
        return .failure(SyntaxProblem(syntax))
    }

    struct SyntaxProblem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}
