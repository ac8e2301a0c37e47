import VigieCrypto

/// The Sender Rewriting Scheme as libsrs2 (and so postsrsd 1.x and 2.x) writes it.
///
///     SRS0=HHHH=TT=orig.example=alice@srs.example        forward of alice@orig.example
///     SRS1=HHHH=fwd.example==HHHH=TT=orig.example=alice@srs.example
///                                                        forward of an SRS0 address of fwd.example
///
/// `HHHH` is HMAC-SHA1 (first secret) over the lower-cased fields — stamp, domain,
/// local part for SRS0; forwarder domain and the rest for SRS1 — in base64 (base64url
/// by default, see `SRSHashEncoding`); `TT` is the issue day in base32.
///
/// Pure: the time comes in as `now` (seconds since 1970), the keys as `SRSSecrets`;
/// safe to call from any thread.
///
/// Security: hashes are compared in constant time against every secret; comparison is
/// case-insensitive and treats `+`/`-` and `/`/`_` alike, like postsrsd 2.x, which
/// leaves about 22 bits of a 4-character hash — the price of interoperating with
/// receivers that change case. An SRS0 address is valid from its issue day to
/// `maximumAgeDays` days after; a stamp from "the future" is expired. SRS1 addresses
/// carry no stamp (libsrs2 does not check one either).
/// Known limitations: the local part is lower-cased by Postfix before the lookup, so the
/// original sender comes back lower-cased (as with postsrsd). Senders whose SRS local
/// part would exceed 64 octets are not rewritten (`SRSUnchangedReason.tooLong`).
public final class SRSCodec: Sendable {
    public let configuration: SRSConfiguration
    private let secrets: SRSSecrets
    private let domainBytes: [UInt8]

    public init(configuration: SRSConfiguration, secrets: SRSSecrets) {
        self.configuration = configuration
        self.secrets = secrets
        self.domainBytes = Array(configuration.domain.utf8)
    }

    // MARK: Forward

    /// The SRS form of `sender`, or why it stays unchanged.
    public func forward(_ sender: some Collection<UInt8>, now: Int64) throws(CryptoError) -> SRSForwardOutcome {
        guard let address = MailAddress(sender) else { return .unchanged(.notAnAddress) }
        if ASCII.equalIgnoringCase(address.domain, domainBytes) { return .unchanged(.srsDomain) }
        if isExcluded(address.domain) { return .unchanged(.excludedDomain) }
        if case .original = try reverse(address, now: now) { return .unchanged(.alreadyRewritten) }

        let local = address.localPart
        let sep = UInt8(ascii: "=")
        var srsLocal: [UInt8]
        switch SRSCodec.tag(of: local) {
        case .srs0:
            // Another forwarder's SRS0: wrap it as SRS1, keeping its hash and stamp.
            let srsUser = local[4...]
            let hash = try SRSHash.create(key: signingKey, fields: [address.domain[...], srsUser],
                                          length: configuration.hashLength, encoding: configuration.hashEncoding)
            srsLocal = Array("SRS1".utf8) + [configuration.separator] + hash + [sep] + address.domain + [sep] + srsUser
        case .srs1:
            // Another forwarder's SRS1: re-sign its first host and user for this host.
            // The first forwarder's host must be a domain: `reverse` refuses any
            // other, so wrapping it would issue an address whose bounces we refuse.
            guard let fields = SRSCodec.split(local[5...], into: 3), !fields[1].isEmpty, !fields[2].isEmpty,
                  fields[1].allSatisfy(MailAddress.isDomainByte) else {
                return .unchanged(.malformedSRS)
            }
            let hash = try SRSHash.create(key: signingKey, fields: [fields[1], fields[2]],
                                          length: configuration.hashLength, encoding: configuration.hashEncoding)
            srsLocal = Array("SRS1".utf8) + [configuration.separator] + hash + [sep] + fields[1] + [sep] + fields[2]
        case nil:
            let stamp = SRSTimestamp.create(now: now)
            let hash = try SRSHash.create(key: signingKey, fields: [stamp[...], address.domain[...], local[...]],
                                          length: configuration.hashLength, encoding: configuration.hashEncoding)
            srsLocal = Array("SRS0".utf8) + [configuration.separator] + hash + [sep] + stamp + [sep] + address.domain + [sep] + local
        }
        let written = MailAddress.externalLocalPart(srsLocal)
        guard written.count <= configuration.maximumLocalPartOctets else { return .unchanged(.tooLong) }
        return .rewritten(String(decoding: written + [UInt8(ascii: "@")] + domainBytes, as: UTF8.self))
    }

    public func forward(_ sender: String, now: Int64) throws(CryptoError) -> SRSForwardOutcome {
        try forward(Array(sender.utf8), now: now)
    }

    // MARK: Reverse

    /// The address an SRS address of this host stands for. Addresses in another
    /// domain than the SRS domain are `.notSRS`: they are not this host's to judge.
    public func reverse(_ address: some Collection<UInt8>, now: Int64) throws(CryptoError) -> SRSReverseOutcome {
        let bytes = Array(address)
        if let parsed = MailAddress(bytes) { return try reverse(parsed, now: now) }
        let unquoted = bytes.first == UInt8(ascii: "\"") ? Array(bytes.dropFirst()) : bytes
        return SRSCodec.tag(of: unquoted) == nil ? .notSRS : .refused(.malformed("no domain, or broken quoting"))
    }

    public func reverse(_ address: String, now: Int64) throws(CryptoError) -> SRSReverseOutcome {
        try reverse(Array(address.utf8), now: now)
    }

    func reverse(_ address: MailAddress, now: Int64) throws(CryptoError) -> SRSReverseOutcome {
        let local = address.localPart
        guard let tag = SRSCodec.tag(of: local) else { return .notSRS }
        guard ASCII.equalIgnoringCase(address.domain, domainBytes) else { return .notSRS }
        let body = local[5...]
        switch tag {
        case .srs0:
            guard let fields = SRSCodec.split(body, into: 4) else {
                return .refused(.malformed("an SRS0 address has four fields: hash=stamp=domain=local part"))
            }
            let (hash, stamp, host, user) = (fields[0], fields[1], fields[2], fields[3])
            guard !hash.isEmpty else { return .refused(.malformed("the hash is empty")) }
            guard !host.isEmpty, host.allSatisfy(MailAddress.isDomainByte) else {
                return .refused(.malformed("the original domain is empty or not a domain"))
            }
            guard !user.isEmpty else { return .refused(.malformed("the original local part is empty")) }
            guard let day = SRSTimestamp.decode(stamp) else {
                return .refused(.malformed("the time stamp is not two base32 characters"))
            }
            guard try SRSHash.verify(hash, keys: secrets.keys, fields: [stamp, host, user], configuration: configuration) else {
                return .refused(.badHash)
            }
            let age = SRSTimestamp.age(ofDay: day, now: now)
            guard age <= configuration.maximumAgeDays else {
                return .refused(.expired(ageDays: age, maximumDays: configuration.maximumAgeDays))
            }
            return .original(MailAddress(localPart: Array(user), domain: Array(host)).externalString)
        case .srs1:
            guard let fields = SRSCodec.split(body, into: 3) else {
                return .refused(.malformed("an SRS1 address has three fields: hash=forwarder=SRS0 rest"))
            }
            let (hash, host, user) = (fields[0], fields[1], fields[2])
            guard !hash.isEmpty else { return .refused(.malformed("the hash is empty")) }
            guard !host.isEmpty, host.allSatisfy(MailAddress.isDomainByte) else {
                return .refused(.malformed("the forwarder's domain is empty or not a domain"))
            }
            guard !user.isEmpty else { return .refused(.malformed("the forwarder's part is empty")) }
            guard try SRSHash.verify(hash, keys: secrets.keys, fields: [host, user], configuration: configuration) else {
                return .refused(.badHash)
            }
            return .original(MailAddress(localPart: Array("SRS0".utf8) + user, domain: Array(host)).externalString)
        }
    }

    // MARK: Helpers

    /// Whether `domain` is excluded from rewriting (the SRS domain always is).
    public func isExcluded(_ domain: some Collection<UInt8>) -> Bool {
        let lower = ASCII.lowercased(domain)
        if lower == domainBytes { return true }
        for excluded in configuration.excludedDomains {
            let pattern = Array(excluded.utf8)
            if pattern.first == UInt8(ascii: ".") {
                if lower.count > pattern.count, Array(lower.suffix(pattern.count)) == pattern { return true }
            } else if lower == pattern {
                return true
            }
        }
        return false
    }

    /// Whether the local part of `address` (or `address` itself when it has no `@`)
    /// starts like an SRS address: `SRS0` or `SRS1`, any case, then `=`, `-` or `+`.
    public static func looksLikeSRS(_ address: some Collection<UInt8>) -> Bool { tag(of: Array(address)) != nil }

    private var signingKey: HMACKey { secrets.keys[0] }

    enum Tag { case srs0, srs1 }

    static func tag(of local: [UInt8]) -> Tag? {
        guard local.count >= 5,
              ASCII.lower(local[0]) == UInt8(ascii: "s"), ASCII.lower(local[1]) == UInt8(ascii: "r"),
              ASCII.lower(local[2]) == UInt8(ascii: "s"),
              [UInt8(ascii: "="), UInt8(ascii: "-"), UInt8(ascii: "+")].contains(local[4]) else { return nil }
        switch local[3] {
        case UInt8(ascii: "0"): return .srs0
        case UInt8(ascii: "1"): return .srs1
        default: return nil
        }
    }

    /// Splits at the first `count - 1` `=` signs; the last field keeps any further `=`.
    static func split(_ body: ArraySlice<UInt8>, into count: Int) -> [ArraySlice<UInt8>]? {
        var fields: [ArraySlice<UInt8>] = []
        var start = body.startIndex
        while fields.count < count - 1 {
            guard let equals = body[start...].firstIndex(of: UInt8(ascii: "=")) else { return nil }
            fields.append(body[start..<equals])
            start = equals + 1
        }
        fields.append(body[start...])
        return fields
    }
}
