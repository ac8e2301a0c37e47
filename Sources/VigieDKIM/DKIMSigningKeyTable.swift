/// Which keys sign which From domains: the `[[dkim.sign.key]]` table as the sign
/// role uses it. Every key whose domains match signs, in the table's order, so an
/// RSA and an Ed25519 key for one domain give two signatures.
public struct DKIMSigningKeyTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let key: DKIMSigningKey
        /// "club.example" for that domain exactly, ".club.example" for its subdomains.
        public let fromDomains: [String]

        public init(key: DKIMSigningKey, fromDomains: [String]) {
            self.key = key
            self.fromDomains = fromDomains.map { $0.lowercased() }
        }

        func signs(_ domain: String) -> Bool {
            fromDomains.contains { $0.hasPrefix(".") ? domain.hasSuffix($0) : domain == $0 }
        }
    }

    public let entries: [Entry]
    /// Every entry's domains without their leading dot, as bytes (`mightSign`).
    private let needles: [[UInt8]]

    public init(_ entries: [Entry]) {
        self.entries = entries
        needles = entries.flatMap { $0.fromDomains.map { Array(($0.hasPrefix(".") ? String($0.dropFirst()) : $0).utf8) } }
    }

    /// False when no key can sign a From field with this value: none of the table's
    /// domains appears in it, compared as ASCII without case. A cheap test before the
    /// full reading of the address (most unsigned mail is decided here); a value with
    /// any non-ASCII byte is always "maybe" (an internationalised domain is compared
    /// only once read and put in its A-label form).
    public func mightSign(fromFieldValue value: String) -> Bool {
        if value.utf8.contains(where: { $0 >= 0x80 }) { return true }
        let lowered = value.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
        for needle in needles where contains(lowered, needle) { return true }
        return false
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        while index + needle.count <= haystack.count {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    /// The keys that sign mail from `fromDomain` (lower case), possibly none.
    public func keys(forFromDomain fromDomain: String) -> [DKIMSigningKey] {
        entries.filter { $0.signs(fromDomain) }.map(\.key)
    }
}
