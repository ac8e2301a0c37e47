#if canImport(Glibc)
import Glibc
#endif

/// Waiting on one descriptor until a deadline: the only place a socket call waits
/// in the deadline-bounded operations (`DatagramSocket`, `StreamSocket`'s
/// `deadline:` calls), so none can outlive its caller's budget.
enum SocketWait {
    /// Waits for `events` (`POLLIN`, `POLLOUT`) on `fd`: true when ready (or in
    /// error: the next call says which), false once `deadline` passed. nil waits
    /// without end. `EINTR` is retried with the time left.
    static func until(_ deadline: ContinuousClock.Instant?, _ fd: Int32, _ events: Int32) -> Bool {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                timeout = millisecondsLeft(deadline)
                if timeout <= 0 { return false }
            }
            var pfd = pollfd(fd: fd, events: Int16(events), revents: 0)
            let n = poll(&pfd, 1, timeout)
            if n > 0 { return true }
            if n == 0 { continue } // the rounding up met the deadline: the next turn says so
            if errno != EINTR { return true }
        }
    }

    /// Whole milliseconds to `deadline`, rounded up so a wait never ends just short
    /// of it; 0 once it passed.
    static func millisecondsLeft(_ deadline: ContinuousClock.Instant) -> Int32 {
        let left = ContinuousClock.now.duration(to: deadline)
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
