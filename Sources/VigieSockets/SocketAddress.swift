#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address and a port: where a socket Vigie opens itself binds,
/// connects or sends. Numeric only (checked with `inet_pton`): a name would mean a
/// DNS lookup, at start-up or, for the resolver's own servers, in a circle.
/// Equal when the address bytes and port are, however the text was spelt
/// (`::1` and `0::1`), so a datagram's source compares with the server queried.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    public let family: Family
    public let port: Int
    /// The address in network order: 4 bytes, or 16.
    let bytes: [UInt8]

    /// The address for `host` (an IPv4 or IPv6 literal) and `port` (0 to 65535;
    /// 0 binds a port the kernel picks); nil for a name or a port out of range.
    public init?(host: some StringProtocol, port: Int) {
        guard (0...65_535).contains(port) else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        let text = String(host)
        if inet_pton(AF_INET, text, &v4) == 1 {
            family = .ipv4
            bytes = withUnsafeBytes(of: v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            family = .ipv6
            bytes = withUnsafeBytes(of: v6) { Array($0) }
        } else {
            return nil
        }
        self.port = port
    }

    /// The wildcard address of `family` (`0.0.0.0` or `::`) with `port`.
    public init(anyOf family: Family, port: Int) {
        self.family = family
        self.port = port
        bytes = [UInt8](repeating: 0, count: family == .ipv4 ? 4 : 16)
    }

    /// Reads "HOST:PORT", "[V6]:PORT" (or, with `defaultPort`, a host alone), the
    /// host a numeric address: `HostPort`'s syntax with `inet_pton`'s check.
    public static func parse(_ text: some StringProtocol, defaultPort: Int? = nil) -> Result<SocketAddress, HostPort.Problem> {
        switch HostPort.parse(text, defaultPort: defaultPort) {
        case .failure(let problem): return .failure(problem)
        case .success(let hostPort):
            guard let address = SocketAddress(host: hostPort.host, port: hostPort.port) else {
                return .failure(HostPort.Problem("\"\(hostPort.host)\" is not an IPv4 or IPv6 address (a name is not accepted here)"))
            }
            return .success(address)
        }
    }

    /// The address in presentation form (`inet_ntop`): `192.0.2.1`, `2001:db8::1`.
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        bytes.withUnsafeBytes { _ = inet_ntop(family == .ipv4 ? AF_INET : AF_INET6, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `192.0.2.1:53` or `[2001:db8::1]:53`.
    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    // MARK: C views

    var domain: Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

    /// Calls `body` with this address as a `sockaddr` and its length.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch family {
        case .ipv4:
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = UInt16(port).bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: bytes) }
            return Self.passing(&sa, body)
        case .ipv6:
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = UInt16(port).bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: bytes) }
            return Self.passing(&sa, body)
        }
    }

    /// `address` (a `sockaddr_in` or `sockaddr_in6`) seen as the `sockaddr` the calls take.
    private static func passing<Address, R>(_ address: inout Address, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<Address>.size)) }
        }
    }

    /// The address in `storage` (what `recvfrom` and `getsockname` fill in); nil
    /// for another family.
    init?(_ storage: sockaddr_storage) {
        let view: (family: Family, port: UInt16, bytes: [UInt8])? = withUnsafeBytes(of: storage) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let sa = raw.load(as: sockaddr_in.self)
                return (.ipv4, UInt16(bigEndian: sa.sin_port), withUnsafeBytes(of: sa.sin_addr) { Array($0) })
            case AF_INET6:
                let sa = raw.load(as: sockaddr_in6.self)
                return (.ipv6, UInt16(bigEndian: sa.sin6_port), withUnsafeBytes(of: sa.sin6_addr) { Array($0) })
            default:
                return nil
            }
        }
        guard let view else { return nil }
        family = view.family
        port = Int(view.port)
        bytes = view.bytes
    }

    /// The local address `fd` is bound to (`getsockname`).
    static func local(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return named == 0 ? SocketAddress(storage) : nil
    }
}
