/// A command's arguments, laid out as RESP bulk strings (`$LENGTH\r\nBYTES\r\n`) as
/// they are added: what goes on the wire, built in one buffer.
///
/// Why not hiredis's `redisCommandArgv`: it formats each argument with its generic
/// `sdscatfmt` and reallocates as it goes, about 35,000 instructions for the 44
/// arguments of a counting script, a third of a decision's cost on this side
/// (callgrind, 2026-12-03). Here a decision's arguments cost one buffer, and the
/// counting scripts append numbers as digits without making a `String` of each.
///
/// Security: every argument is written with its length, so account names and
/// reasons are data whatever bytes they hold (no format string, no terminator).
public struct RedisArguments: Sendable {
    /// How many arguments have been added.
    public private(set) var count = 0
    /// The arguments' RESP, without the `*COUNT\r\n` header.
    private(set) var encoded: [UInt8] = []

    public init(capacity: Int = 128) {
        encoded.reserveCapacity(capacity)
    }

    public init(_ arguments: [[UInt8]]) {
        self.init(capacity: arguments.reduce(0) { $0 + $1.count + 16 })
        for argument in arguments { append(argument) }
    }

    public mutating func append(_ argument: [UInt8]) {
        appendHeader(length: argument.count)
        encoded.append(contentsOf: argument)
        appendCRLF()
    }

    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            appendHeader(length: utf8.count)
            encoded.append(contentsOf: utf8)
        }
        appendCRLF()
    }

    /// Every argument of `other`, after these.
    public mutating func append(contentsOf other: RedisArguments) {
        count += other.count
        encoded.append(contentsOf: other.encoded)
    }

    /// A number as its decimal digits (what Redis and Lua's `tonumber` read).
    public mutating func append(_ value: Int) {
        appendHeader(length: Self.decimalLength(value))
        Self.appendDecimal(value, to: &encoded)
        appendCRLF()
    }

    /// The whole command: `*COUNT\r\n` and the arguments, for `redisAppendFormattedCommand`.
    func command(after first: [RedisArguments] = []) -> [UInt8] {
        let total = first.reduce(count) { $0 + $1.count }
        var wire: [UInt8] = []
        wire.reserveCapacity(first.reduce(encoded.count) { $0 + $1.encoded.count } + 24)
        wire.append(UInt8(ascii: "*"))
        Self.appendDecimal(total, to: &wire)
        wire.append(13); wire.append(10)
        for part in first { wire.append(contentsOf: part.encoded) }
        wire.append(contentsOf: encoded)
        return wire
    }

    private mutating func appendHeader(length: Int) {
        count += 1
        encoded.append(UInt8(ascii: "$"))
        Self.appendDecimal(length, to: &encoded)
        appendCRLF()
    }

    private mutating func appendCRLF() {
        encoded.append(13)  // \r
        encoded.append(10)  // \n
    }

    // Digits written right to left on the stack, then copied in one append of a
    // contiguous buffer: a digit at a time (or a slice of a scratch buffer, which
    // takes the generic path) cost more than the rest of the arguments (callgrind).
    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: "-9223372036854775808" is 20
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var magnitude = value.magnitude
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }

    private static func decimalLength(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 { magnitude /= 10; length += 1 }
        return length
    }
}
