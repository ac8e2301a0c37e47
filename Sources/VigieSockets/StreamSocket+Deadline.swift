#if canImport(Glibc)
import Glibc
#endif

/// Stream calls bounded by one deadline: each waits in `poll` for the time left and
/// never blocks in the call itself (`MSG_DONTWAIT`, a non-blocking connect), so a
/// server that accepts and then says nothing costs its caller the budget, not more.
/// A deadline that passes throws a `SocketFailure` whose `timedOut` is true.
extension StreamSocket {
    /// A TCP connection to `address`, non-blocking (and close-on-exec), established
    /// before `deadline`.
    public static func connect(to address: SocketAddress, deadline: ContinuousClock.Instant) throws(SocketFailure) -> Int32 {
        let fd = try newSocket(address.domain, address, flags: Int32(SOCK_NONBLOCK.rawValue))
        if address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 { return fd }
        guard errno == EINPROGRESS || errno == EINTR else { throw closing(fd, "connect", address) }
        guard SocketWait.until(deadline, fd, Int32(POLLOUT)) else { throw closing(fd, "connect", address, code: ETIMEDOUT) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { throw closing(fd, "connect", address, code: error) }
        return fd
    }

    /// Writes all of `bytes` before `deadline` (`MSG_NOSIGNAL`: a peer gone is a
    /// failure, `EPIPE`, not a SIGPIPE).
    public static func write(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(SocketFailure) {
        var offset = 0
        while offset < bytes.count {
            guard SocketWait.until(deadline, fd, Int32(POLLOUT)) else { throw failure("write", fd, ETIMEDOUT) }
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw failure("write", fd, errno)
            }
            offset += written
        }
    }

    /// What has arrived, at most `maximumBytes`, once something has, before
    /// `deadline`; empty when the peer closed the stream.
    public static func read(_ fd: Int32, upTo maximumBytes: Int, deadline: ContinuousClock.Instant) throws(SocketFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximumBytes)
        while true {
            guard SocketWait.until(deadline, fd, Int32(POLLIN)) else { throw failure("read", fd, ETIMEDOUT) }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw failure("read", fd, errno)
            }
            return Array(buffer[0..<count])
        }
    }

    /// Exactly `count` bytes before `deadline`; fewer only when the peer closed
    /// the stream first (the caller decides what a short message means).
    public static func read(_ fd: Int32, exactly count: Int, deadline: ContinuousClock.Instant) throws(SocketFailure) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            let chunk = try read(fd, upTo: count - bytes.count, deadline: deadline)
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return bytes
    }

    /// A failure on a connected `fd`, named by its peer (`getpeername`) when it has one.
    private static func failure(_ operation: String, _ fd: Int32, _ code: Int32) -> SocketFailure {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        let peer = named == 0 ? SocketAddress(storage)?.description : nil
        return SocketFailure(operation: operation, target: peer ?? "socket \(fd)", code: code)
    }
}
