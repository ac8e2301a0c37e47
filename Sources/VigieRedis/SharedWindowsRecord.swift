import VigieCore

/// An account's shared counts as the counting scripts keep them: one string per
/// account (`PREFIX shared:ACCOUNT`, `RedisKeys.shared`), read whole and written
/// whole by each call, and sent back in the scripts' reply.
///
/// Layout, little-endian (Lua's `struct.pack('<I4I4' .. ('dI4I4'):rep(n), ...)`):
///
///     0   layout     u32   `layout(of:)` the list of windows the record is for
///     4   refusals   u32   messages refused in a row
///     8   n × 16           per window, in the order the windows are sent: its start
///                          (a double, milliseconds: Lua's numbers are doubles,
///                          exact to 2^53), previous and current (u32)
///
/// Why one string and not one hash field per window (the layout before): every
/// `redis.call` from Lua, every argument Redis turns into a Lua string and every
/// `struct` call is what the server spends on a message, for every host in turn.
/// One GET, one `struct.unpack`, one `struct.pack` and one SET with its expiry do
/// what HMGET of nine fields, eight unpacks, eight packs, HSET and PEXPIRE did
/// (`benchmarks/redis-script/run.sh`). The price is that a record is only
/// meaningful for one list of windows: `layout` says which, and a record of another
/// list is refused, never read as these windows' counts.
///
/// The parser is hostile-input-facing in the sense that matters here: whatever sits
/// under the key (another program's value, a damaged or truncated write) is refused,
/// never trapped on (fuzz/Targets/shared-record.swift).
struct SharedWindowsRecord: Equatable, Sendable {
    static let headerSize = 8
    static let windowSize = 16

    var layout: UInt32
    var refusalsInARow: UInt32
    var windows: [SlidingWindowCount]

    init(layout: UInt32, refusalsInARow: UInt32 = 0, windows: [SlidingWindowCount]) {
        self.layout = layout
        self.refusalsInARow = refusalsInARow
        self.windows = windows
    }

    static func size(windows count: Int) -> Int { headerSize + count * windowSize }

    /// FNV-1a (32 bits) of the window names, each followed by a newline: what tells
    /// one list of windows from another. The policy always sends the same list (its
    /// limits, then the burst rule's two windows), so in practice this changes only
    /// with a Vigie version that counts other windows.
    static func layout(of names: [String]) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for name in names {
            for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
            hash = (hash ^ 0x0A) &* 0x0100_0193
        }
        return hash
    }

    enum Problem: Error, Equatable, CustomStringConvertible {
        case size(Int, expected: Int)
        case layout(UInt32, expected: UInt32)
        case start(window: Int)

        var description: String {
            switch self {
            case .size(let size, let expected): "holds \(size) bytes, not the \(expected) of these windows"
            case .layout(let found, let expected):
                "is for another list of windows (layout \(String(found, radix: 16)), not \(String(expected, radix: 16)))"
            case .start(let window): "has no whole number of milliseconds as the start of window \(window + 1)"
            }
        }
    }

    /// Reads `bytes` as the record of `count` windows of `layout`. Refused: another
    /// size, another layout, or a start that is no whole number of milliseconds
    /// within ±2^53 (NaN, a fraction, -0: not written by the scripts). So a record
    /// that reads writes back to the same bytes.
    init(_ bytes: ArraySlice<UInt8>, windows count: Int, layout expected: UInt32) throws(Problem) {
        let size = Self.size(windows: count)
        guard bytes.count == size else { throw .size(bytes.count, expected: size) }
        let base = bytes.startIndex
        func word(_ offset: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in (0..<width).reversed() { value = value << 8 | UInt64(bytes[base + offset + index]) }
            return value
        }
        let layout = UInt32(truncatingIfNeeded: word(0, 4))
        guard layout == expected else { throw .layout(layout, expected: expected) }
        var windows: [SlidingWindowCount] = []
        windows.reserveCapacity(count)
        for index in 0..<count {
            let offset = Self.headerSize + index * Self.windowSize
            let start = Double(bitPattern: word(offset, 8))
            // In range before converting (Int64(_:) traps on NaN and beyond), then
            // exactly what the scripts write for that integer: no fraction, no -0.
            guard start.isFinite, start >= -9_007_199_254_740_992, start <= 9_007_199_254_740_992,
                  Double(Int64(start)).bitPattern == start.bitPattern else { throw .start(window: index) }
            windows.append(SlidingWindowCount(windowStart: Int64(start), previous: UInt32(truncatingIfNeeded: word(offset + 8, 4)),
                                              current: UInt32(truncatingIfNeeded: word(offset + 12, 4))))
        }
        self.init(layout: layout, refusalsInARow: UInt32(truncatingIfNeeded: word(4, 4)), windows: windows)
    }

    /// The bytes the scripts write for this record (the tests seed and compare them).
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size(windows: windows.count))
        out.appendLittleEndian(layout)
        out.appendLittleEndian(refusalsInARow)
        for window in windows {
            out.appendLittleEndian(Double(window.windowStart).bitPattern)
            out.appendLittleEndian(window.previous)
            out.appendLittleEndian(window.current)
        }
        return out
    }
}

extension [UInt8] {
    /// Appends `value` as Lua's `struct.pack('<')` lays it out: the record here and
    /// the scripts' window specification (`WindowEncodings`).
    mutating func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
