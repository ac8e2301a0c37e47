import VigieCore

extension RedisSharedCounters {
    /// One window of an account as the counting scripts keep it in the account's
    /// hash (the field named as the window) and send it back: the window's start
    /// as a little-endian IEEE double (milliseconds; Lua's numbers are doubles, and
    /// exact to 2^53), then previous and current as little-endian u32: Lua's
    /// `struct.pack('<dI4I4', ...)`. Binary because each number the scripts turn
    /// into decimal is one more Lua string (`RedisSharedCounters+Scripts.swift`).
    struct WindowRecord: Equatable {
        static let size = 16
        /// A record in the scripts' reply, then a byte saying whether the message fits.
        static let replySize = 17

        var count: SlidingWindowCount

        /// nil unless `bytes` is exactly one record whose start is a whole number of
        /// milliseconds in Int64's range (no NaN, no fraction: anything else was not
        /// written by the scripts).
        init?(_ bytes: ArraySlice<UInt8>) {
            guard bytes.count == Self.size else { return nil }
            let base = bytes.startIndex
            func word(_ offset: Int, _ size: Int) -> UInt64 {
                var value: UInt64 = 0
                for index in (0..<size).reversed() { value = value << 8 | UInt64(bytes[base + offset + index]) }
                return value
            }
            let start = Double(bitPattern: word(0, 8))
            guard start.isFinite, start == start.rounded(.towardZero),
                  start >= -9_007_199_254_740_992, start <= 9_007_199_254_740_992 else { return nil }
            count = SlidingWindowCount(windowStart: Int64(start), previous: UInt32(truncatingIfNeeded: word(8, 4)),
                                       current: UInt32(truncatingIfNeeded: word(12, 4)))
        }

        init(count: SlidingWindowCount) { self.count = count }

        /// The bytes the scripts would write for `count` (the tests compare them).
        var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(Self.size)
            func append(_ value: UInt64, _ size: Int) {
                for index in 0..<size { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
            }
            append(Double(count.windowStart).bitPattern, 8)
            append(UInt64(count.previous), 4)
            append(UInt64(count.current), 4)
            return out
        }
    }
}
