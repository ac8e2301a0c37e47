#if canImport(Glibc)
import Glibc
#endif
import VigieSockets

/// One query/response exchange with one server over UDP (TCP when truncated),
/// never blocking past `deadline`: every wait is VigieSockets' `poll` bounded by
/// the time left (`DatagramSocket.receive`, `StreamSocket`'s `deadline:` calls).
///
/// Security (RFC 5452): each query goes out from a fresh socket bound to a random
/// port, with a random id (`DNSRandom`). An answer is accepted only from the queried
/// address and port, with the query's id and question (`DNSMessage.isResponse`);
/// anything else is dropped and the wait goes on until the deadline, so a forged
/// datagram can at worst cost the real answer's wait, never replace it. A
/// truncated answer is asked again over TCP, and if TCP fails the lookup fails
/// (temperror): the truncated answer is never used as "no record".
enum DNSTransport {
    /// Largest answer read over TCP. The length prefix allows 65535; a 4096-bit DKIM
    /// key or a long SPF record is far under this, and a server sending more is
    /// refused rather than buffered.
    static let maximumTCPAnswerBytes = 16_384

    static func exchange(query: [UInt8], with server: SocketAddress,
                         deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let packet = try udp(query: query, server: server, deadline: deadline)
        if packet[2] & 0x02 != 0 { // TC
            return try tcp(query: query, server: server, deadline: deadline)
        }
        return packet
    }

    /// Runs a VigieSockets call: a deadline that passed is `.timedOut`, any other
    /// failure `.network` with the call, the server and errno's words.
    private static func socketCall<R>(_ body: () throws(SocketFailure) -> R) throws(DNSFailure) -> R {
        do { return try body() } catch { throw error.timedOut ? .timedOut : .network("\(error)") }
    }

    private static func udp(query: [UInt8], server: SocketAddress,
                            deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        try socketCall { () throws(SocketFailure) -> [UInt8] in
            // Connected: the kernel drops datagrams from elsewhere and reports ICMP port
            // unreachable as ECONNREFUSED; the source is still checked below.
            let socket = try DatagramSocket(to: server, sourcePort: DNSRandom.sourcePort)
            try socket.send(query)
            while true {
                let datagram = try socket.receive(deadline: deadline)
                if datagram.source == server, DNSMessage.isResponse(datagram.bytes, to: query) { return datagram.bytes }
                // Not our answer (stray, late, or forged): keep waiting for the real one.
            }
        }
    }

    private static func tcp(query: [UInt8], server: SocketAddress,
                            deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let fd = try socketCall { () throws(SocketFailure) in try StreamSocket.connect(to: server, deadline: deadline) }
        defer { close(fd) }
        try socketCall { () throws(SocketFailure) in
            try StreamSocket.write(fd, [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query, deadline: deadline)
        }
        let header = try socketCall { () throws(SocketFailure) in try StreamSocket.read(fd, exactly: 2, deadline: deadline) }
        guard header.count == 2 else { throw .malformedResponse("TCP connection closed early") }
        let length = Int(header[0]) << 8 | Int(header[1])
        guard length <= maximumTCPAnswerBytes else {
            throw .malformedResponse("TCP answer from \(server) of \(length) bytes (at most \(maximumTCPAnswerBytes))")
        }
        let packet = try socketCall { () throws(SocketFailure) in try StreamSocket.read(fd, exactly: length, deadline: deadline) }
        guard packet.count == length else { throw .malformedResponse("TCP connection closed early") }
        // One query per connection: whatever else comes back is not an answer to it.
        guard DNSMessage.isResponse(packet, to: query) else {
            throw .malformedResponse("TCP answer from \(server) does not match the query")
        }
        return packet
    }
}
