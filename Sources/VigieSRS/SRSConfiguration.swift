/// How addresses are written and checked. Defaults are libsrs2's and postsrsd's.
public struct SRSConfiguration: Sendable, Equatable {
    /// The domain SRS addresses are issued in (`SRS0=...@domain`), lower-cased.
    public var domain: String
    /// Domains whose senders are never rewritten (their mail passes SPF from this
    /// host anyway). `example.org` matches exactly; `.example.org` matches every
    /// subdomain, as in postsrsd's `-X`. The SRS domain itself is always excluded.
    public var excludedDomains: [String]
    /// Days an SRS0 address stays valid after the day it was issued (21).
    public var maximumAgeDays: Int
    /// Hash characters written (4, as libsrs2).
    public var hashLength: Int
    /// Fewest hash characters accepted (4).
    public var minimumHashLength: Int
    /// The character after `SRS0`/`SRS1`: `=` (default), `-` or `+`.
    public var separator: UInt8
    /// Hash alphabet for new addresses; both are accepted when verifying.
    public var hashEncoding: SRSHashEncoding
    /// Senders whose SRS local part would be longer than this are left unchanged (64,
    /// RFC 5321's limit, which strict receivers enforce).
    public var maximumLocalPartOctets: Int

    public init(
        domain: String,
        excludedDomains: [String] = [],
        maximumAgeDays: Int = 21,
        hashLength: Int = 4,
        minimumHashLength: Int? = nil,
        separator: UInt8 = UInt8(ascii: "="),
        hashEncoding: SRSHashEncoding = .base64url,
        maximumLocalPartOctets: Int = 64
    ) {
        self.domain = domain.lowercased()
        self.excludedDomains = excludedDomains.map { $0.lowercased() }
        self.maximumAgeDays = maximumAgeDays
        self.hashLength = hashLength
        self.minimumHashLength = minimumHashLength ?? hashLength
        self.separator = separator
        self.hashEncoding = hashEncoding
        self.maximumLocalPartOctets = maximumLocalPartOctets
    }
}

/// The alphabet of the hash's last two values.
public enum SRSHashEncoding: String, Sendable, Equatable, CaseIterable {
    /// `-` and `_` (as recent postsrsd 2.x writes them): every receiver accepts them in a local part.
    case base64url
    /// `+` and `/` (libsrs2, postsrsd 1.x): some receivers refuse `/`, and `+` is read
    /// as a sub-address delimiter by many. Only for a host that must stay verifiable by
    /// postsrsd 1.x (e.g. during a switch back).
    case base64
}
