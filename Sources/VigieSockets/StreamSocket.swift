#if canImport(Glibc)
import Glibc
#endif

/// The stream sockets every Vigie server and client uses (the control socket, the
/// SRS lookup services, the metrics endpoint, the resolver's TCP retry, the test
/// kit's SMTP and Dovecot clients): one place for the rules each used to get right,
/// or not, on its own.
///
/// - every descriptor is close-on-exec (`postsuper`, `sendmail` and the notifier's
///   children must not inherit a listener or a session);
/// - writes use `MSG_NOSIGNAL` (a peer that went away is a failure, never a SIGPIPE
///   that kills the daemon), retry on `EINTR` and finish short writes;
/// - a unix path is checked against `sun_path`'s size (a longer one was silently cut,
///   binding another path), a TCP host must be a numeric address (`SocketAddress`,
///   `inet_pton`: a name would mean DNS at start-up).
///
/// Two ways to bound a wait: `connect(to:timeout:)` sets `SO_RCVTIMEO`/`SO_SNDTIMEO`
/// for a blocking peer that reads and writes lines (control, lookups); the
/// `deadline:` calls wait in `poll` for the time left and never block in the call
/// itself (`MSG_DONTWAIT`), so a run of reads and writes shares one budget (the
/// resolver's TCP exchange, a test's reply timeout).
public enum StreamSocket {
    /// Where a socket listens or connects.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case unix(path: String)
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    /// A listening socket; a stale unix socket file is replaced, and `mode` (when
    /// given) set on it.
    public static func listen(on endpoint: Endpoint, backlog: Int32 = 128, mode: mode_t? = nil) throws(SocketFailure) -> Int32 {
        switch endpoint {
        case .unix(let path):
            var address = try unixAddress(path, endpoint)
            let fd = try newSocket(AF_UNIX, endpoint)
            unlink(path)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw closing(fd, "bind", endpoint) }
            if let mode { chmod(path, mode) }
            guard Glibc.listen(fd, backlog) == 0 else { throw closing(fd, "listen", endpoint) }
            return fd
        case .tcp(let host, let port):
            let address = try numericAddress(host, port, endpoint)
            let fd = try newSocket(address.domain, endpoint)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else { throw closing(fd, "bind", endpoint) }
            guard Glibc.listen(fd, backlog) == 0 else { throw closing(fd, "listen", endpoint) }
            return fd
        }
    }

    /// A connected socket, with `timeout` on every later read and write.
    public static func connect(to endpoint: Endpoint, timeout: Duration = .seconds(10)) throws(SocketFailure) -> Int32 {
        switch endpoint {
        case .unix(let path):
            var address = try unixAddress(path, endpoint)
            let fd = try newSocket(AF_UNIX, endpoint)
            setTimeouts(fd, receive: timeout, send: timeout)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw closing(fd, "connect", endpoint) }
            return fd
        case .tcp(let host, let port):
            let address = try numericAddress(host, port, endpoint)
            let fd = try newSocket(address.domain, endpoint)
            setTimeouts(fd, receive: timeout, send: timeout)
            guard address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 else { throw closing(fd, "connect", endpoint) }
            return fd
        }
    }

    /// The next connection (close-on-exec), or nil when `listener` failed or was
    /// closed (the caller's loop decides whether to go on). `EINTR` is retried.
    public static func accept(_ listener: Int32) -> Int32? {
        while true {
            // accept4(SOCK_CLOEXEC) is not in Swift's Glibc module: the flag is set right
            // after (the window is a few instructions; the daemon's only children are
            // the notifier's sendmail and vigiectl's postsuper).
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                return fd
            }
            if errno == EINTR { continue }
            return nil
        }
    }

    /// Writes all of `bytes`; false when the peer is gone or the send timed out.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// Reads up to a newline (not included) or the end of the stream, at most
    /// `limit` bytes; nil on an error, a timeout, or a line longer than `limit`.
    public static func readLine(_ fd: Int32, limit: Int = 16 << 20) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return out }
            if let newline = buffer[..<count].firstIndex(of: 10) {
                out += buffer[..<newline]
                return out.count <= limit ? out : nil
            }
            out += buffer[..<count]
        }
        return nil
    }

    /// `SO_RCVTIMEO` and `SO_SNDTIMEO` (nil leaves one as it is; at least a
    /// millisecond, since zero would mean none).
    public static func setTimeouts(_ fd: Int32, receive: Duration?, send: Duration?) {
        func set(_ option: Int32, _ duration: Duration) {
            let (seconds, attoseconds) = duration.components
            let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            var timeout = timeval(tv_sec: Int(milliseconds / 1000), tv_usec: Int(milliseconds % 1000) * 1000)
            setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        if let receive { set(SO_RCVTIMEO, receive) }
        if let send { set(SO_SNDTIMEO, send) }
    }

    /// The port a TCP listener got (for `port = 0` in tests), nil for a unix socket.
    public static func boundPort(_ fd: Int32) -> Int? { SocketAddress.local(of: fd)?.port }

    // MARK: Details

    static func newSocket(_ family: Int32, _ target: some CustomStringConvertible, flags: Int32 = 0) throws(SocketFailure) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | flags, 0)
        guard fd >= 0 else { throw SocketFailure(operation: "socket", target: "\(target)", code: errno) }
        return fd
    }

    static func closing(_ fd: Int32, _ operation: String, _ target: some CustomStringConvertible, code: Int32 = errno) -> SocketFailure {
        close(fd)
        return SocketFailure(operation: operation, target: "\(target)", code: code)
    }

    static func unixAddress(_ path: String, _ endpoint: Endpoint) throws(SocketFailure) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, !bytes.contains(0), bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SocketFailure(operation: "socket path (at most \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes, no NUL)",
                                target: "\(endpoint)", code: bytes.isEmpty ? EINVAL : ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    private static func numericAddress(_ host: String, _ port: Int, _ endpoint: Endpoint) throws(SocketFailure) -> SocketAddress {
        guard let address = SocketAddress(host: host, port: port) else {
            let port = (0...65_535).contains(port)
            throw SocketFailure(operation: port ? "numeric address (not a host name)" : "port (0 to 65535)", target: "\(endpoint)", code: EINVAL)
        }
        return address
    }
}
