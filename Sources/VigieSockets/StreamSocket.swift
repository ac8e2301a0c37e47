#if canImport(Glibc)
import Glibc
#endif

/// The stream sockets every Vigie server and client uses (the control socket, the
/// SRS lookup services, the metrics endpoint): one place for the rules each used to
/// get right, or not, on its own.
///
/// - every descriptor is close-on-exec (`postsuper`, `sendmail` and the notifier's
///   children must not inherit a listener or a session);
/// - writes use `MSG_NOSIGNAL` (a peer that went away is a `false`, never a SIGPIPE
///   that kills the daemon), retry on `EINTR` and finish short writes;
/// - a unix path is checked against `sun_path`'s size (a longer one was silently cut,
///   binding another path), a TCP host must be a numeric address (`inet_pton`
///   through `getaddrinfo(AI_NUMERICHOST)`: a name would mean DNS at start-up).
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

    /// A failed call, with errno's meaning kept so a caller can say what to do.
    public struct Failure: Error, CustomStringConvertible {
        public var operation: String
        public var endpoint: Endpoint
        public var code: Int32
        public var description: String { "\(operation) \(endpoint): \(String(cString: strerror(code)))" }
    }

    /// A listening socket; a stale unix socket file is replaced, and `mode` (when
    /// given) set on it.
    public static func listen(on endpoint: Endpoint, backlog: Int32 = 128, mode: mode_t? = nil) throws(Failure) -> Int32 {
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
            return try withNumericAddress(host, port, endpoint) { family, address, length throws(Failure) in
                let fd = try newSocket(family, endpoint)
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                guard bind(fd, address, length) == 0 else { throw closing(fd, "bind", endpoint) }
                guard Glibc.listen(fd, backlog) == 0 else { throw closing(fd, "listen", endpoint) }
                return fd
            }
        }
    }

    /// A connected socket, with `timeout` on every later read and write.
    public static func connect(to endpoint: Endpoint, timeout: Duration = .seconds(10)) throws(Failure) -> Int32 {
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
            return try withNumericAddress(host, port, endpoint) { family, address, length throws(Failure) in
                let fd = try newSocket(family, endpoint)
                setTimeouts(fd, receive: timeout, send: timeout)
                guard Glibc.connect(fd, address, length) == 0 else { throw closing(fd, "connect", endpoint) }
                return fd
            }
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
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
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
    public static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return nil
        }
    }

    // MARK: Details

    private static func newSocket(_ family: Int32, _ endpoint: Endpoint) throws(Failure) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", endpoint: endpoint, code: errno) }
        return fd
    }

    private static func closing(_ fd: Int32, _ operation: String, _ endpoint: Endpoint) -> Failure {
        let code = errno
        close(fd)
        return Failure(operation: operation, endpoint: endpoint, code: code)
    }

    static func unixAddress(_ path: String, _ endpoint: Endpoint) throws(Failure) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, !bytes.contains(0), bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(operation: "socket path (at most \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes, no NUL)",
                          endpoint: endpoint, code: bytes.isEmpty ? EINVAL : ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    private static func withNumericAddress<Result>(
        _ host: String, _ port: Int, _ endpoint: Endpoint,
        _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard (0...65535).contains(port) else { throw Failure(operation: "port", endpoint: endpoint, code: EINVAL) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result, let address = info.pointee.ai_addr else {
            throw Failure(operation: "numeric address (not a host name)", endpoint: endpoint, code: EINVAL)
        }
        defer { freeaddrinfo(result) }
        return try body(info.pointee.ai_family, address, info.pointee.ai_addrlen)
    }
}
