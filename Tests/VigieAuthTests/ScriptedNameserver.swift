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
    private let udp: Int32
    private let spoofer: Int32
    private let tcp: Int32?
    private let lock = NSLock()
    private var received: [Query] = []

    private var tcpReceived = 0

    var queries: [Query] { lock.lock(); defer { lock.unlock() }; return received }
    /// Queries that came over TCP.
    var tcpQueries: Int { lock.lock(); defer { lock.unlock() }; return tcpReceived }

    init(tcp tcpScript: (@Sendable (Query) -> TCPAction)? = nil, udp script: @escaping @Sendable (Query) -> [Action]) throws {
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let spoofer = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.udp = udp
        self.spoofer = spoofer
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        guard Self.bind(udp, &sa) == 0, Self.bind(spoofer, &sa) == 0 else { throw HarnessFailure("bind UDP: \(errno)") }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let udpSocket = udp
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(udpSocket, $0, &length) } }
        let port = UInt16(bigEndian: bound.sin_port)
        address = Nameserver.address("127.0.0.1:\(port)")!
        if let tcpScript {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var tcpAddress = sa
            tcpAddress.sin_port = port.bigEndian
            guard Self.bind(listener, &tcpAddress) == 0, listen(listener, 8) == 0 else { throw HarnessFailure("TCP port \(port) taken") }
            tcp = listener
        } else {
            tcp = nil
        }
        if let tcp, let tcpScript { Thread.detachNewThread { [self] in serveTCP(tcp, tcpScript) } }
        Thread.detachNewThread { [self] in serveUDP(script) }
    }

    deinit {
        shutdown(udp, Int32(SHUT_RDWR))
        close(udp)
        close(spoofer)
        if let tcp { shutdown(tcp, Int32(SHUT_RDWR)); close(tcp) }
    }

    private static func bind(_ fd: Int32, _ sa: inout sockaddr_in) -> Int32 {
        withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    private func serveUDP(_ script: (Query) -> [Action]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var client = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &client) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, bytes.baseAddress, bytes.count, 0, $0, &length) }
                }
            }
            guard n > 0 else { return }
            let query = Query(bytes: Array(buffer[0..<n]), sourcePort: UInt16(bigEndian: client.sin_port))
            lock.lock(); received.append(query); lock.unlock()
            for action in script(query) {
                let (fd, bytes): (Int32, [UInt8]) = switch action {
                case .reply(let b): (udp, b)
                case .replyFromOtherPort(let b): (spoofer, b)
                }
                _ = bytes.withUnsafeBytes { raw in
                    withUnsafePointer(to: &client) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, length) }
                    }
                }
            }
        }
    }

    private func serveTCP(_ listener: Int32, _ script: @Sendable (Query) -> TCPAction) {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var header = [UInt8](repeating: 0, count: 2)
            guard recv(connection, &header, 2, Int32(MSG_WAITALL)) == 2 else { continue }
            var query = [UInt8](repeating: 0, count: Int(header[0]) << 8 | Int(header[1]))
            guard recv(connection, &query, query.count, Int32(MSG_WAITALL)) == query.count else { continue }
            lock.lock(); tcpReceived += 1; lock.unlock()
            switch script(Query(bytes: query, sourcePort: 0)) {
            case .reply(let bytes, let declared):
                let length = declared ?? bytes.count
                let framed = [UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes
                _ = framed.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
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
