/// A recipient as the sending history remembers it: two 64-bit hashes, of the whole
/// address and of its domain, both of the lower-cased address.
///
/// Stable across restarts and hosts (FNV-1a, then a final mix), unlike Swift's
/// per-process seeded `Hasher`: the sketches that hold these are saved to disk.
/// Never used as a dictionary key an attacker could flood, only as Bloom filter
/// bits, where a chosen collision can at most make one stranger look known.
public struct RecipientFingerprint: Sendable, Equatable {
    public var address: UInt64
    public var domain: UInt64

    public init(address: UInt64, domain: UInt64) {
        self.address = address
        self.domain = domain
    }

    /// From a recipient as Postfix gives it at RCPT (`<bob@example.org>`, maybe with
    /// ESMTP parameters). ASCII upper case is folded; other bytes are taken as they
    /// come (Postfix does not fold international addresses either).
    public init(recipient raw: String) {
        // Native strings are contiguous UTF-8: hash the bytes in place (this runs at
        // every RCPT); anything else is copied once.
        self = raw.utf8.withContiguousStorageIfAvailable(Self.init(bytes:)) ?? Array(raw.utf8).withUnsafeBufferPointer(Self.init(bytes:))
    }

    /// EnvelopeAddress.strip's trimming (blanks, one pair of angle brackets), then
    /// the hashes, on the bytes themselves: no copy of the address.
    init(bytes: UnsafeBufferPointer<UInt8>) {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = 0, end = bytes.count
        while start < end, isBlank(bytes[start]) { start += 1 }
        while start < end, isBlank(bytes[end - 1]) { end -= 1 }
        if start < end, bytes[start] == UInt8(ascii: "<") { start += 1 }
        if start < end, bytes[end - 1] == UInt8(ascii: ">") { end -= 1 }
        while start < end, isBlank(bytes[start]) { start += 1 }
        while start < end, isBlank(bytes[end - 1]) { end -= 1 }
        // The domain is what follows the last @ (a quoted local part may hold one).
        var at = end
        while at > start, bytes[at - 1] != UInt8(ascii: "@") { at -= 1 }
        // Two plain loops (whole address, then domain) instead of one with a branch
        // per byte: this is most of what detection adds per recipient (callgrind).
        var whole = Self.offsetBasis
        for index in start..<end { whole = (whole ^ UInt64(Self.folded(bytes[index]))) &* Self.prime }
        var domain = Self.offsetBasis
        if at > start {
            for index in at..<end { domain = (domain ^ UInt64(Self.folded(bytes[index]))) &* Self.prime }
        }
        self.address = Self.mix(whole)
        // Salted: addresses and domains share one sketch (SendingHistory).
        self.domain = Self.mix(domain ^ 0x5EED_D0A1_05A1_7000)
    }

    /// ASCII upper case folded to lower case, every other byte as it is.
    @inline(__always)
    static func folded(_ byte: UInt8) -> UInt8 { byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte }

    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV's low bits are weak for short keys; a final avalanche makes every bit
    /// usable as a Bloom index.
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }
}
