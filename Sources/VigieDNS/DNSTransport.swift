#if canImport(Glibc)
import Glibc
#endif

/// One query/response exchange with one server over UDP (TCP when truncated),
/// never blocking past `deadline`: every wait is a `poll` bounded by the time left.
enum DNSTransport {
    static func exchange(query: [UInt8], id: UInt16, with server: NameserverAddress,
                         deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let packet = try udp(query: query, id: id, server: server, deadline: deadline)
        if packet.count > 2, packet[2] & 0x02 != 0 { // TC
            return try tcp(query: query, id: id, server: server, deadline: deadline)
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

    private static func udp(query: [UInt8], id: UInt16, server: NameserverAddress,
                            deadline: ContinuousClock.Instant) throws(DNSFailure) -> [UInt8] {
        let fd = try openSocket(server, type: Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        // A connected UDP socket only receives from that server (no spoofed answers
        // from elsewhere) and reports ICMP port unreachable as ECONNREFUSED.
        guard server.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            throw .network("connect \(server): \(String(cString: strerror(errno)))")
        }
        guard query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count else {
            throw .network("send \(server): \(String(cString: strerror(errno)))")
        }
        var buffer = [UInt8](repeating: 0, count: 65535)
        while true {
            guard wait(fd, Int16(POLLIN), deadline: deadline) else { throw .timedOut }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .network("recv \(server): \(String(cString: strerror(errno)))")
            }
            // Ignore stray datagrams whose id does not match; keep waiting.
            if n >= 12, UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == id { return Array(buffer[0..<n]) }
        }
    }

    private static func tcp(query: [UInt8], id: UInt16, server: NameserverAddress,
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
        let packet = try read(Int(header[0]) << 8 | Int(header[1]))
        guard packet.count >= 12, UInt16(packet[0]) << 8 | UInt16(packet[1]) == id else {
            throw .malformedResponse("TCP answer id mismatch")
        }
        return packet
    }
}
