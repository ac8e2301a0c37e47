/// A count over a sliding window, kept as two fixed windows and weighted.
///
/// The estimate at time t is `previous * (1 - elapsed/length) + current`, where
/// `elapsed` is how far t is into the current fixed window: the sliding-window
/// counter Cloudflare and redis-cell popularised. It needs two integers per window
/// instead of one timestamp per message, so a million tracked accounts fit in memory
/// and a decision never allocates. Known limitation: it assumes the previous
/// window's traffic was spread evenly, so the estimate can be off by the skew of
/// that window; it is exact for the current window's own traffic.
///
/// Whether something fits is decided in integers (everything scaled by `length`),
/// so the time `earliestFit` promises is exactly the first millisecond at which
/// `fits` says yes: a floating-point estimate can be 1e-14 over on a boundary.
public struct SlidingWindowCount: Sendable, Equatable {
    /// Start of the current fixed window, in milliseconds since the epoch.
    public var windowStart: Int64
    public var previous: UInt32
    public var current: UInt32

    public init(windowStart: Int64 = 0, previous: UInt32 = 0, current: UInt32 = 0) {
        self.windowStart = windowStart
        self.previous = previous
        self.current = current
    }

    /// Moves the fixed windows forward so that `now` lies in the current one.
    /// A wall clock stepping back (NTP, an admin fixing the date) keeps the counts
    /// rather than forgetting them.
    @inlinable
    public mutating func advance(to now: Int64, length: Int64) {
        // Still inside the current window (the usual case): no division needed.
        if now >= windowStart, now - windowStart < length { return }
        let aligned = now - now % length
        if aligned <= windowStart { return }
        if aligned - windowStart == length {
            previous = current
        } else {
            previous = 0
        }
        current = 0
        windowStart = aligned
    }

    /// Milliseconds into the current fixed window, clamped to it.
    @inlinable
    func elapsed(at now: Int64, length: Int64) -> Int64 {
        min(max(0, now - windowStart), length)
    }

    /// The estimated count in the `length` milliseconds before `now` (call `advance` first).
    @inlinable
    public func estimate(at now: Int64, length: Int64) -> Double {
        let elapsed = Double(elapsed(at: now, length: length)) / Double(length)
        return Double(previous) * (1 - elapsed) + Double(current)
    }

    /// Whether `amount` more stays within `limit` at `now` (call `advance` first).
    @inlinable
    public func fits(_ amount: Int, under limit: Int, at now: Int64, length: Int64) -> Bool {
        let decaying = Int64(previous) * (length - elapsed(at: now, length: length))
        return decaying + (Int64(current) + Int64(amount)) * length <= Int64(limit) * length
    }

    @inlinable
    public mutating func add(_ amount: Int) {
        let sum = UInt64(current) + UInt64(max(0, amount))
        current = UInt32(min(sum, UInt64(UInt32.max)))
    }

    /// The first millisecond at which `amount` more fits under `limit`, or nil if it
    /// never will (the amount alone is over the limit). Call `advance` first.
    public func earliestFit(of amount: Int, under limit: Int, at now: Int64, length: Int64) -> Int64? {
        guard amount <= limit else { return nil }
        if fits(amount, under: limit, at: now, length: length) { return now }
        // Within the current fixed window only `previous` decays:
        // previous * (length - e) <= room * length, with room = limit - current - amount.
        let room = Int64(limit) - Int64(current) - Int64(amount)
        if room >= 0, previous > 0 {
            let elapsed = length - (room * length) / Int64(previous)
            if elapsed < length { return max(now, windowStart + elapsed) }
        }
        // In the next fixed window, today's `current` becomes the decaying part.
        let nextStart = windowStart + length
        let nextRoom = Int64(limit) - Int64(amount)
        if current == 0 || Int64(current) <= nextRoom { return max(now, nextStart) }
        return nextStart + length - (nextRoom * length) / Int64(current)
    }
}
