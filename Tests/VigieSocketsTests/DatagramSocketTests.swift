import Testing
import VigieSockets
#if canImport(Glibc)
import Glibc
#endif

/// The resolver's UDP socket: a random source port, one peer, a bounded wait.
@Suite struct DatagramSocketTests {
    static let loopback = SocketAddress(host: "127.0.0.1", port: 0)!

    @Test func aQueryAndItsAnswerOverLoopback() throws {
        let server = try DatagramSocket(boundTo: Self.loopback)
        let serverAddress = try #require(server.localAddress)
        #expect(serverAddress.port != 0)
        var drawn: [UInt16] = []
        let client = try DatagramSocket(to: serverAddress, sourcePort: {
            let port = UInt16.random(in: 20_000...60_000)
            drawn.append(port)
            return port
        })
        let clientAddress = try #require(client.localAddress)
        #expect(drawn.contains(UInt16(clientAddress.port)), "bound to the port drawn, not one the kernel chose")
        #expect(fcntl(client.descriptor, F_GETFD) & FD_CLOEXEC != 0)
        #expect(fcntl(client.descriptor, F_GETFL) & O_NONBLOCK != 0)

        try client.send(Array("query".utf8))
        let query = try server.receive(deadline: .now + .seconds(5))
        #expect(query.bytes == Array("query".utf8))
        #expect(query.source?.port == clientAddress.port, "the peer's address is told")
        try server.send(Array("answer".utf8), to: try #require(query.source))
        let answer = try client.receive(deadline: .now + .seconds(5))
        #expect(answer.bytes == Array("answer".utf8))
        #expect(answer.source == serverAddress)
    }

    @Test func aDatagramFromAnotherPortNeverReachesTheConnectedSocket() throws {
        let server = try DatagramSocket(boundTo: Self.loopback)
        let client = try DatagramSocket(to: try #require(server.localAddress), sourcePort: { UInt16.random(in: 20_000...60_000) })
        let stranger = try DatagramSocket(boundTo: Self.loopback)
        try stranger.send(Array("forged".utf8), to: try #require(client.localAddress))
        #expect(throws: SocketFailure.self) { _ = try client.receive(deadline: .now + .milliseconds(200)) }
    }

    @Test func aSilentPeerEndsInATimeoutNotAHang() throws {
        let silent = try DatagramSocket(boundTo: Self.loopback)
        let client = try DatagramSocket(to: try #require(silent.localAddress), sourcePort: { UInt16.random(in: 20_000...60_000) })
        try client.send([1, 2, 3])
        do {
            _ = try client.receive(deadline: .now + .milliseconds(100))
            Issue.record("a datagram out of nowhere")
        } catch {
            #expect(error.timedOut, "\(error)")
        }
    }

    @Test func aClosedPortIsRefused() throws {
        // A port nobody holds: ICMP port unreachable comes back as ECONNREFUSED on the
        // connected socket, before the deadline.
        let port = try #require(try DatagramSocket(boundTo: Self.loopback).localAddress)
        let client = try DatagramSocket(to: port, sourcePort: { UInt16.random(in: 20_000...60_000) })
        try client.send([0])
        do {
            _ = try client.receive(deadline: .now + .seconds(5))
            Issue.record("an answer from a closed port")
        } catch {
            #expect(error.code == ECONNREFUSED, "\(error)")
        }
    }
}
