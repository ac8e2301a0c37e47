#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket, non-blocking and close-on-exec, whose every wait is bounded by a
/// deadline: the resolver's query socket, and the test kit's small UDP servers.
///
/// Security: `init(to:sourcePort:)` is the RFC 5452 socket: bound to a port the
/// caller draws (the resolver's CSPRNG), connected to the one peer so the kernel
/// drops datagrams from elsewhere and reports ICMP port unreachable as
/// `ECONNREFUSED`. `receive` still tells each datagram's source, so the caller
/// checks it itself rather than trusting the filter.
public final class DatagramSocket {
    /// The descriptor, owned: closed in `deinit`.
    public let descriptor: Int32
    private let name: String

    /// One datagram and where it came from (nil for a family this type does not read).
    public struct Datagram: Sendable {
        public var bytes: [UInt8]
        public var source: SocketAddress?
    }

    /// A socket bound to `local`; port 0 lets the kernel pick (`localAddress` says which).
    public init(boundTo local: SocketAddress) throws(SocketFailure) {
        descriptor = try Self.open(local.domain, local.description)
        name = local.description
        guard local.withSockaddr({ bind(descriptor, $0, $1) }) == 0 else { throw closing("bind") }
    }

    /// A socket for exchanges with `peer` alone: bound to the wildcard address on a
    /// port from `sourcePort` (drawn again, up to 8 times, while another socket
    /// holds the one drawn; after that the kernel picks, which Linux randomises
    /// too), then connected to `peer`.
    public init(to peer: SocketAddress, sourcePort: () -> UInt16) throws(SocketFailure) {
        descriptor = try Self.open(peer.domain, peer.description)
        name = peer.description
        for _ in 0..<8 {
            if SocketAddress(anyOf: peer.family, port: Int(sourcePort())).withSockaddr({ bind(descriptor, $0, $1) }) == 0 { break }
            guard errno == EADDRINUSE || errno == EACCES else { throw closing("bind") }
        }
        guard peer.withSockaddr({ connect(descriptor, $0, $1) }) == 0 else { throw closing("connect") }
    }

    deinit { close(descriptor) }

    /// The address and port this socket is bound to (`getsockname`).
    public var localAddress: SocketAddress? { SocketAddress.local(of: descriptor) }

    /// Sends `bytes` as one datagram, to `peer` (`sendto`) or, when nil, to the
    /// connected peer. A datagram is never sent in part: a short send is a failure.
    public func send(_ bytes: [UInt8], to peer: SocketAddress? = nil) throws(SocketFailure) {
        while true {
            let sent = bytes.withUnsafeBytes { raw in
                if let peer {
                    return peer.withSockaddr { sendto(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, $1) }
                }
                return Glibc.send(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if sent == bytes.count { return }
            if sent < 0 && errno == EINTR { continue }
            throw SocketFailure(operation: "send", target: peer?.description ?? name, code: sent < 0 ? errno : EMSGSIZE)
        }
    }

    /// The next datagram (at most `maximumBytes`; a longer one is cut, as
    /// `recvfrom` does), waiting until `deadline` (nil: without end). A deadline
    /// that passes throws a failure whose `timedOut` is true.
    public func receive(maximumBytes: Int = 65_535, deadline: ContinuousClock.Instant?) throws(SocketFailure) -> Datagram {
        var buffer = [UInt8](repeating: 0, count: maximumBytes)
        while true {
            guard SocketWait.until(deadline, descriptor, Int32(POLLIN)) else {
                throw SocketFailure(operation: "receive", target: name, code: ETIMEDOUT)
            }
            var source = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
            }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw SocketFailure(operation: "receive", target: name, code: errno)
            }
            return Datagram(bytes: Array(buffer[0..<count]), source: SocketAddress(source))
        }
    }

    private static func open(_ domain: Int32, _ name: String) throws(SocketFailure) -> Int32 {
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(operation: "socket", target: name, code: errno) }
        return fd
    }

    /// The failure of `operation` (errno read first); `deinit` closes the socket.
    private func closing(_ operation: String) -> SocketFailure {
        SocketFailure(operation: operation, target: name, code: errno)
    }
}
