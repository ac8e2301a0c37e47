/// The network a client connected from, at the granularity detection compares:
/// an IPv4 /24 or an IPv6 /48 (one home, office or hosting customer), with the
/// coarser /16 or /32 around it (usually one provider's pool: a phone on mobile data
/// changes /24 often, rarely /16).
///
/// Parsed from Postfix's `{client_addr}` macro, which is text: `192.0.2.7`,
/// `2001:db8::1`, or `IPv6:2001:db8::1` in some Postfix contexts. The parser is
/// total: anything it does not recognise is nil, never a trap, and nil never counts
/// as a new network (a missing or malformed macro must not lock anyone by itself).
public struct NetworkPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Tagged bits: IPv4 /24 in the low 24 bits with `ipv4Tag`; IPv6 /48 in the low
    /// 48 bits with `ipv6Tag`. One word, so a history keeps it inline.
    public let raw: UInt64
    static let ipv4Tag: UInt64 = 1 << 62
    static let ipv6Tag: UInt64 = 1 << 63

    public init?(raw: UInt64) {
        switch raw & (Self.ipv4Tag | Self.ipv6Tag) {
        case Self.ipv4Tag where raw & ~(Self.ipv4Tag | 0xFF_FFFF) == 0: self.raw = raw
        case Self.ipv6Tag where raw & ~(Self.ipv6Tag | 0xFFFF_FFFF_FFFF) == 0: self.raw = raw
        default: return nil
        }
    }

    init(ipv4 address: UInt32) { raw = Self.ipv4Tag | UInt64(address >> 8) }
    init(ipv6High64 high: UInt64) { raw = Self.ipv6Tag | (high >> 16) }

    public var isIPv6: Bool { raw & Self.ipv6Tag != 0 }

    /// The provider-sized block around this network: /16 (IPv4) or /32 (IPv6).
    public var wider: UInt64 { isIPv6 ? raw >> 16 : raw >> 8 }

    /// The network of a client address; nil for the loopback and unspecified
    /// addresses (the host itself: the local sendmail path, a web application on
    /// the server) and for anything that is not an address. All of 0.0.0.0/8 is
    /// refused, not only 0.0.0.0: RFC 1122 keeps it for a host that does not know
    /// its address yet, so no remote client sends from it, and its /24 would print
    /// as `0.0.0.0/24`, which does not read back (the fuzzer found 0.0.0.1).
    public init?(clientAddress text: String) {
        // Native strings are contiguous UTF-8: parse the bytes in place (this runs
        // for every message from a member).
        let parsed = text.utf8.withContiguousStorageIfAvailable(Self.parseClient)
            ?? Array(text.utf8).withUnsafeBufferPointer(Self.parseClient)
        guard let parsed else { return nil }
        self = parsed
    }

    private static func parseClient(_ all: UnsafeBufferPointer<UInt8>) -> NetworkPrefix? {
        if all.count > 64 { return nil }
        var bytes = Slice(base: all, bounds: all.indices)
        let tag = "IPv6:".utf8
        if bytes.count > tag.count, zip(bytes, tag).allSatisfy({ $0 == $1 }) { bytes = bytes.dropFirst(tag.count) }
        if let v4 = parseIPv4(bytes) {
            return isHostOrThisNetwork(v4) ? nil : NetworkPrefix(ipv4: v4)
        }
        guard let (high, low) = parseIPv6(bytes) else { return nil }
        if high >> 16 == 0 {
            // ::ffff:a.b.c.d is an IPv4 client on a v6 socket; the rest of ::/48
            // (::1, ::, the deprecated ::a.b.c.d) is no client network.
            guard high == 0, low >> 32 == 0xFFFF else { return nil }
            let v4 = UInt32(truncatingIfNeeded: low)
            return isHostOrThisNetwork(v4) ? nil : NetworkPrefix(ipv4: v4)
        }
        return NetworkPrefix(ipv6High64: high)
    }

    /// 127.0.0.0/8 (loopback) and 0.0.0.0/8 (this network).
    private static func isHostOrThisNetwork(_ v4: UInt32) -> Bool {
        v4 >> 24 == 127 || v4 >> 24 == 0
    }

    /// A network as an admin writes it for `vigiectl trust`: `198.51.100.0/24`,
    /// `2001:db8:1::/48`, or a single address (its /24 or /48 is meant).
    public init?(networkText text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let base = NetworkPrefix(clientAddress: String(parts[0])) else { return nil }
            let expected = base.isIPv6 ? "48" : "24"
            guard parts[1] == expected else { return nil }
            self = base
        } else {
            guard let base = NetworkPrefix(clientAddress: text) else { return nil }
            self = base
        }
    }

    public var description: String {
        if isIPv6 {
            let bits = raw & 0xFFFF_FFFF_FFFF
            let groups = [bits >> 32, (bits >> 16) & 0xFFFF, bits & 0xFFFF].map { String($0, radix: 16) }
            return groups.joined(separator: ":") + "::/48"
        }
        let bits = raw & 0xFF_FFFF
        return "\(bits >> 16).\((bits >> 8) & 0xFF).\(bits & 0xFF).0/24"
    }

    public static func < (lhs: NetworkPrefix, rhs: NetworkPrefix) -> Bool { lhs.raw < rhs.raw }
}

/// As text (`198.51.100.0/24`) in JSON: what `vigiectl explain --json` shows.
extension NetworkPrefix: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let prefix = NetworkPrefix(networkText: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a network: \(text)"))
        }
        self = prefix
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: Parsing

    /// Dotted quad, four decimal parts 0–255 without leading zeros beyond one digit
    /// (`010` is ambiguous between octal and decimal: refused).
    static func parseIPv4(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        var leadingZero = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
                leadingZero = false
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if leadingZero { return nil }
                if digits == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard part <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | part
    }

    /// RFC 4291 text: eight groups of up to four hex digits, one `::` at most, and
    /// an embedded dotted quad in the last 32 bits. Returns the high and low 64 bits.
    static func parseIPv6(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> (UInt64, UInt64)? {
        // Groups inline: no allocation per address.
        var groups = InlineArray<8, UInt16>(repeating: 0)
        var count = 0
        var gapAt: Int?
        var index = bytes.startIndex
        let end = bytes.endIndex
        if bytes.count >= 2, bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: ":") {
            gapAt = 0
            index += 2
            if index == end { return (0, 0) }
        }
        while index < end {
            // One group, or an embedded IPv4 address at the end.
            var group: UInt32 = 0
            var digits = 0
            var cursor = index
            while cursor < end, let nibble = Self.hexValue(bytes[cursor]) {
                group = group << 4 | UInt32(nibble)
                digits += 1
                guard digits <= 4 else { return nil }
                cursor += 1
            }
            if cursor < end, bytes[cursor] == UInt8(ascii: ".") {
                guard let v4 = parseIPv4(bytes[index..<end]), count <= 6 else { return nil }
                groups[count] = UInt16(v4 >> 16)
                groups[count + 1] = UInt16(v4 & 0xFFFF)
                count += 2
                break
            }
            guard digits > 0, count < 8 else { return nil }
            groups[count] = UInt16(group)
            count += 1
            index = cursor
            if index == end { break }
            guard bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < end, bytes[index] == UInt8(ascii: ":") {
                guard gapAt == nil else { return nil }
                gapAt = count
                index += 1
                if index == end { break }
            } else if index == end {
                return nil  // a trailing single colon
            }
        }
        if let gapAt {
            guard count < 8 else { return nil }
            // Move the groups after the gap to the end; zeros fill the gap.
            let shift = 8 - count
            var moved = 7
            while moved >= gapAt + shift {
                groups[moved] = groups[moved - shift]
                moved -= 1
            }
            for zero in gapAt..<(gapAt + shift) { groups[zero] = 0 }
            count = 8
        }
        guard count == 8 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for group in 0..<4 { high = high << 16 | UInt64(groups[group]) }
        for group in 4..<8 { low = low << 16 | UInt64(groups[group]) }
        return (high, low)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
