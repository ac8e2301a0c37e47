#if canImport(Glibc)
import Glibc
#endif

/// One query/response exchange with one server over UDP (TCP when truncated),
/// never blocking past `deadline`: every wait is a `poll` bounded by the time left.
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

    static func exchange(query: [UInt8], with server: NameserverAddress,
                         deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let packet = try udp(query: query, server: server, deadline: deadline)
        if packet[2] & 0x02 != 0 { // TC
            return try tcp(query: query, server: server, deadline: deadline)
        }
        return packet
    }

    private static func millisecondsLeft(_ deadline: ContinuousClock.Instant) -> Int32 {
        let left = ContinuousClock.now.duration(to: deadline)
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    private static func openSocket(_ server: NameserverAddress, type: Int32) throws(DNSFailure) -> Int32 {
        let fd = socket(server.family, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .network("socket: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Waits for `events` on `fd`; false when the deadline passed first.
    private static func wait(_ fd: Int32, _ events: Int16, deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let timeout = millisecondsLeft(deadline)
            if timeout <= 0 { return false }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&pfd, 1, timeout)
            if n > 0 { return true }
            if n == 0 { return false }
            if errno != EINTR { return false }
        }
    }

    private static func udp(query: [UInt8], server: NameserverAddress,
                            deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let fd = try openSocket(server, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        try bindRandomPort(fd, server)
        // Connected: the kernel drops datagrams from elsewhere and reports ICMP port
        // unreachable as ECONNREFUSED; the source is still checked below.
        guard server.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            throw .network("connect \(server): \(String(cString: strerror(errno)))")
        }
        guard query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count else {
            throw .network("send \(server): \(String(cString: strerror(errno)))")
        }
        var buffer = [UInt8](repeating: 0, count: 65535)
        while true {
            guard wait(fd, Int16(POLLIN), deadline: deadline) else { throw .timedOut }
            var source = sockaddr_storage()
            var sourceLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &sourceLength)
                    }
                }
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .network("recv \(server): \(String(cString: strerror(errno)))")
            }
            let packet = Array(buffer[0..<n])
            if server.isSource(source), DNSMessage.isResponse(packet, to: query) { return packet }
            // Not our answer (stray, late, or forged): keep waiting for the real one.
        }
    }

    /// Binds `fd` to a random port; a few tries, since another socket may hold the
    /// port drawn. After that the kernel picks (Linux randomises its choice too).
    private static func bindRandomPort(_ fd: Int32, _ server: NameserverAddress) throws(DNSFailure) {
        for _ in 0..<8 {
            if server.withLocalSockaddr(port: DNSRandom.sourcePort(), { bind(fd, $0, $1) }) == 0 { return }
            guard errno == EADDRINUSE || errno == EACCES else {
                throw .network("bind: \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func tcp(query: [UInt8], server: NameserverAddress,
                            deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let fd = try openSocket(server, type: Int32(SOCK_STREAM.rawValue))
        defer { close(fd) }
        if server.withSockaddr({ connect(fd, $0, $1) }) != 0 {
            guard errno == EINPROGRESS else { throw .network("connect \(server): \(String(cString: strerror(errno)))") }
            guard wait(fd, Int16(POLLOUT), deadline: deadline) else { throw .timedOut }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw .network("connect \(server): \(String(cString: strerror(error)))") }
        }
        let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
        var sent = 0
        while sent < framed.count {
            guard wait(fd, Int16(POLLOUT), deadline: deadline) else { throw .timedOut }
            let n = framed.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .network("send \(server): \(String(cString: strerror(errno)))")
            }
            sent += n
        }
        func read(_ count: Int) throws(DNSFailure) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                guard wait(fd, Int16(POLLIN), deadline: deadline) else { throw .timedOut }
                let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw .network("recv \(server): \(String(cString: strerror(errno)))")
                }
                if n == 0 { throw .malformedResponse("TCP connection closed early") }
                got += n
            }
            return bytes
        }
        let header = try read(2)
        let length = Int(header[0]) << 8 | Int(header[1])
        guard length <= maximumTCPAnswerBytes else {
            throw .malformedResponse("TCP answer from \(server) of \(length) bytes (at most \(maximumTCPAnswerBytes))")
        }
        let packet = try read(length)
        // One query per connection: whatever else comes back is not an answer to it.
        guard DNSMessage.isResponse(packet, to: query) else {
            throw .malformedResponse("TCP answer from \(server) does not match the query")
        }
        return packet
    }
}
