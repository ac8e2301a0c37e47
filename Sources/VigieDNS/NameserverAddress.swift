#if canImport(Glibc)
import Glibc
#endif

/// A nameserver given as an IP literal and port: `192.0.2.53`, `127.0.0.1:5353`,
/// `[2001:db8::53]:53`, `::1`. Names are refused: a resolver cannot resolve its own
/// server's name.
public struct NameserverAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    let family: Int32
    let addressBytes: [UInt8]

    public init?(_ text: String) {
        var host = text.trimmingCharactersInWhitespace()
        var port: UInt16 = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            let inner = String(host[host.index(after: host.startIndex)..<close])
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()), p > 0 else { return nil }
                port = p
            }
            host = inner
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]), p > 0 else { return nil }
            port = p
            host = String(host[..<colon])
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            family = AF_INET
            addressBytes = withUnsafeBytes(of: v4) { Array($0) }
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            family = AF_INET6
            addressBytes = withUnsafeBytes(of: v6) { Array($0) }
        } else {
            return nil
        }
        self.host = host
        self.port = port
    }

    public var description: String { family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Calls `body` with this address as a `sockaddr`.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if family == AF_INET {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: addressBytes) }
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: addressBytes) }
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }

    /// Calls `body` with the wildcard address of this server's family and `port`:
    /// where a query's socket is bound before it connects to the server.
    func withLocalSockaddr<R>(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if family == AF_INET {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }

    /// Whether a datagram's source (`recvfrom`'s address) is this server: same
    /// family, address and port.
    func isSource(_ storage: sockaddr_storage) -> Bool {
        let sourceFamily = Int32(storage.ss_family)
        return withUnsafeBytes(of: storage) { raw in
            if family == AF_INET, sourceFamily == AF_INET {
                let sa = raw.load(as: sockaddr_in.self)
                return UInt16(bigEndian: sa.sin_port) == port && withUnsafeBytes(of: sa.sin_addr) { Array($0) } == addressBytes
            }
            if family == AF_INET6, sourceFamily == AF_INET6 {
                let sa = raw.load(as: sockaddr_in6.self)
                return UInt16(bigEndian: sa.sin6_port) == port && withUnsafeBytes(of: sa.sin6_addr) { Array($0) } == addressBytes
            }
            return false
        }
    }

    /// The servers in /etc/resolv.conf, for when none is configured.
    public static func systemDefaults(path: String = "/etc/resolv.conf") -> [NameserverAddress] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var servers: [NameserverAddress] = []
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let fields = String(cString: line).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if fields.count >= 2, fields[0] == "nameserver", let address = NameserverAddress(String(fields[1])) {
                servers.append(address)
            }
        }
        return servers
    }
}

extension String {
    func trimmingCharactersInWhitespace() -> String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
