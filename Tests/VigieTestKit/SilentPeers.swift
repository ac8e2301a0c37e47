// Peers that take what they are sent and never answer: the dead servers that
// timeout tests (SMTP, Redis, DNS) are written against, on VigieSockets.

import VigieSockets

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP listener that never accepts or answers: connections complete
/// into its backlog, and a client's reads wait for nothing.
public final class SilentListener {
    /// The listening descriptor (closed in `deinit`): a test may `accept` on it to
    /// answer as it likes.
    public let descriptor: Int32
    public let port: Int

    public init() throws {
        do {
            descriptor = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0), backlog: 8)
        } catch {
            throw HarnessError("\(error)")
        }
        guard let port = StreamSocket.boundPort(descriptor) else { close(descriptor); throw HarnessError("getsockname: errno \(errno)") }
        self.port = port
    }

    deinit { close(descriptor) }
}

/// A UDP socket on loopback that receives queries and never answers: a dead DNS
/// server, for temperror tests.
public final class SilentNameserver {
    private let socket: DatagramSocket
    public let address: SocketAddress

    public init() throws {
        do {
            socket = try DatagramSocket(boundTo: SocketAddress(host: "127.0.0.1", port: 0)!)
        } catch {
            throw HarnessError("\(error)")
        }
        guard let address = socket.localAddress else { throw HarnessError("cannot read the silent nameserver's port") }
        self.address = address
    }
}
