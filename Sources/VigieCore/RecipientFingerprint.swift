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
        let address = EnvelopeAddress.strip(raw)
        var whole = Self.offsetBasis
        var domain = Self.offsetBasis
        var inDomain = false
        for var byte in address.utf8 {
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            whole = (whole ^ UInt64(byte)) &* Self.prime
            if byte == UInt8(ascii: "@") {
                // The domain is what follows the last @ (a quoted local part may hold one).
                domain = Self.offsetBasis
                inDomain = true
            } else if inDomain {
                domain = (domain ^ UInt64(byte)) &* Self.prime
            }
        }
        self.address = Self.mix(whole)
        self.domain = Self.mix(domain)
    }

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
