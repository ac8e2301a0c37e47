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

    public init(_ entries: [Entry]) { self.entries = entries }

    /// The keys that sign mail from `fromDomain` (lower case), possibly none.
    public func keys(forFromDomain fromDomain: String) -> [DKIMSigningKey] {
        entries.filter { $0.signs(fromDomain) }.map(\.key)
    }
}
