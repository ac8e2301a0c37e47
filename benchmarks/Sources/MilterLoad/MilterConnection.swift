// One milter connection driven as an MTA would: blocking socket, one write(2) per
// packet (Postfix flushes its stream after every command, macros included), no
// TCP_NODELAY (Postfix sets none on milter sockets), so Nagle/delayed-ACK stalls show
// up here as they would under Postfix.

import LoadSupport
#if canImport(Glibc)
import Glibc
#endif

struct MilterError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum SocketAddress {
    case unix(String)
    case inet(String, UInt16)

    init?(_ text: String) {
        if text.hasPrefix("unix:") {
            self = .unix(String(text.dropFirst(5)))
        } else if text.hasPrefix("inet:") {
            // inet:HOST:PORT (Vigie's syntax) or inet:PORT@HOST (libmilter's).
            let rest = String(text.dropFirst(5))
            if let at = rest.firstIndex(of: "@"), let port = UInt16(rest[..<at]) {
                self = .inet(String(rest[rest.index(after: at)...]), port)
            } else if let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) {
                self = .inet(String(rest[..<colon]), port)
            } else { return nil }
        } else { return nil }
    }

    /// Loopback only: the milter protocol has no authentication, and this tool is a load generator.
    var isLoopback: Bool {
        switch self {
        case .unix: true
        case .inet(let host, _): host.hasPrefix("127.") || host == "localhost"
        }
    }
}

final class MilterConnection {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65_536)
    private var start = 0
    private var end = 0

    init(_ address: SocketAddress, timeoutSeconds: Int = 10) throws {
        switch address {
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw MilterError("socket: errno \(errno)") }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw MilterError("socket path too long") }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
                raw[bytes.count] = 0
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { let e = errno; close(fd); throw MilterError("connect \(path): errno \(e)") }
        case .inet(let host, let port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw MilterError("socket: errno \(errno)") }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr) == 1 else {
                close(fd); throw MilterError("bad address \(host)")
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { let e = errno; close(fd); throw MilterError("connect \(host):\(port): errno \(e)") }
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func setNoDelay() {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// One write(2) for the whole buffer (retried on a short write).
    func send(_ bytes: [UInt8]) throws {
        if let error = writeAll(fd, bytes) { throw MilterError("write: errno \(error)") }
    }

    /// Reads one packet: (command, data).
    func receive() throws -> (UInt8, [UInt8]) {
        try fill(4)
        let length = Int(UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16 | UInt32(buffer[start + 2]) << 8
            | UInt32(buffer[start + 3]))
        guard length >= 1, length <= buffer.count - 4 else { throw MilterError("bad packet length \(length)") }
        try fill(4 + length)
        let command = buffer[start + 4]
        let data = length > 1 ? Array(buffer[(start + 5)..<(start + 4 + length)]) : []
        start += 4 + length
        return (command, data)
    }

    private func fill(_ count: Int) throws {
        if end - start >= count { return }
        if start > 0 {
            buffer.withUnsafeMutableBufferPointer { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start)
            }
            end -= start
            start = 0
        }
        while end - start < count {
            let n = buffer.withUnsafeMutableBufferPointer { b in read(fd, b.baseAddress! + end, b.count - end) }
            if n == 0 { throw MilterError("milter closed the connection") }
            if n < 0 {
                if errno == EINTR { continue }
                throw MilterError(errno == EAGAIN ? "read timed out" : "read: errno \(errno)")
            }
            end += n
        }
    }
}
