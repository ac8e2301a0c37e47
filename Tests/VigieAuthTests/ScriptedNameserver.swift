import Foundation
@testable import VigieDNS
import VigieSockets
#if canImport(Glibc)
import Glibc
#endif

/// A nameserver on loopback that answers each query with a script: what to send
/// back, in order, and from which socket. nsd cannot send a wrong id or a spoofed
/// datagram; this can, so the tests show which answers the resolver takes.
/// It also listens on TCP on the same port when asked (truncated answers).
final class ScriptedNameserver: @unchecked Sendable {
    // @unchecked: `queries` is only touched under `lock`; the sockets are used by
    // the server threads alone after init.

    enum Action {
        /// A datagram from the server's own address and port.
        case reply([UInt8])
        /// The same, from another port on the same address (a spoof the kernel's
        /// connected-socket filter and the resolver's source check must drop).
        case replyFromOtherPort([UInt8])
    }

    /// What TCP does with a query.
    enum TCPAction {
        /// Sends `bytes` with a length prefix of `bytes.count` (or `declaredLength`).
        case reply([UInt8], declaredLength: Int? = nil)
    }

    struct Query { let bytes: [UInt8]; let sourcePort: UInt16 }

    let address: SocketAddress
    private let udp: DatagramSocket
    private let spoofer: DatagramSocket
    private let tcp: Int32?
    private let lock = NSLock()
    private var received: [Query] = []

    private var tcpReceived = 0

    var queries: [Query] { lock.lock(); defer { lock.unlock() }; return received }
    /// Queries that came over TCP.
    var tcpQueries: Int { lock.lock(); defer { lock.unlock() }; return tcpReceived }

    init(tcp tcpScript: (@Sendable (Query) -> TCPAction)? = nil, udp script: @escaping @Sendable (Query) -> [Action]) throws {
        let loopback = SocketAddress(host: "127.0.0.1", port: 0)!
        udp = try DatagramSocket(boundTo: loopback)
        spoofer = try DatagramSocket(boundTo: loopback)
        guard let bound = udp.localAddress else { throw HarnessFailure("cannot read the UDP port") }
        address = bound
        if let tcpScript {
            do {
                tcp = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: address.port), backlog: 8)
            } catch {
                throw HarnessFailure("TCP port \(address.port) taken: \(error)")
            }
        } else {
            tcp = nil
        }
        if let tcp, let tcpScript { Thread.detachNewThread { [self] in serveTCP(tcp, tcpScript) } }
        Thread.detachNewThread { [self] in serveUDP(script) }
    }

    deinit {
        if let tcp { shutdown(tcp, Int32(SHUT_RDWR)); close(tcp) }
    }

    private func serveUDP(_ script: (Query) -> [Action]) {
        while let query = try? udp.receive(maximumBytes: 4096, deadline: nil), let client = query.source {
            let question = Query(bytes: query.bytes, sourcePort: UInt16(client.port))
            lock.lock(); received.append(question); lock.unlock()
            for action in script(question) {
                switch action {
                case .reply(let bytes): try? udp.send(bytes, to: client)
                case .replyFromOtherPort(let bytes): try? spoofer.send(bytes, to: client)
                }
            }
        }
    }

    private func serveTCP(_ listener: Int32, _ script: @Sendable (Query) -> TCPAction) {
        while let connection = StreamSocket.accept(listener) {
            defer { close(connection) }
            let deadline = ContinuousClock.now + .seconds(5)
            guard let header = try? StreamSocket.read(connection, exactly: 2, deadline: deadline), header.count == 2,
                  let query = try? StreamSocket.read(connection, exactly: Int(header[0]) << 8 | Int(header[1]), deadline: deadline),
                  query.count == Int(header[0]) << 8 | Int(header[1]) else { continue }
            lock.lock(); tcpReceived += 1; lock.unlock()
            switch script(Query(bytes: query, sourcePort: 0)) {
            case .reply(let bytes, let declared):
                let length = declared ?? bytes.count
                try? StreamSocket.write(connection, [UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes, deadline: deadline)
            }
        }
    }

    // MARK: Building answers

    /// The response to `query`: its id and question, QR, RA and `flags` (e.g. TC
    /// 0x0200), and one A record per address, named by a pointer to the question.
    static func answer(to query: [UInt8], addresses: [[UInt8]], flags: UInt16 = 0) -> [UInt8] {
        var end = 12
        while query[end] != 0 { end += 1 + Int(query[end]) }
        end += 5
        let rawFlags = 0x8180 | flags
        var response = Array(query[0..<2]) + [UInt8(rawFlags >> 8), UInt8(rawFlags & 0xff), 0, 1, 0, UInt8(addresses.count), 0, 0, 0, 0]
        response += query[12..<end]
        for address in addresses {
            response += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + address
        }
        return response
    }

    /// `answer` with the id changed.
    static func withOtherID(_ response: [UInt8]) -> [UInt8] {
        var response = response
        response[1] ^= 0x5A
        return response
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
