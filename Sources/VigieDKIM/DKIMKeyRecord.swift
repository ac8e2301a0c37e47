import Foundation
import VigieCrypto

/// The DKIM key record (RFC 6376 §3.6.1) of a signing key: what `vigiectl dkim
/// keygen` prints to publish, and what `vigiectl dkim check` reads back from DNS to
/// compare with the private key.
public struct DKIMKeyRecord: Sendable, Equatable {
    /// `k=`: "rsa" or "ed25519".
    public var keyType: String
    /// `p=`, decoded; empty for a revoked key.
    public var publicKey: [UInt8]

    public init(keyType: String, publicKey: [UInt8]) {
        self.keyType = keyType
        self.publicKey = publicKey
    }

    /// The record of `key`'s public half.
    public init(for key: PrivateKey) throws(PrivateKeyError) {
        switch key.kind {
        case .rsa: keyType = "rsa"
        case .ed25519: keyType = "ed25519"
        }
        publicKey = try key.publicKeyForDNS
    }

    /// "v=DKIM1; k=rsa; p=...".
    public var text: String {
        "v=DKIM1; k=\(keyType); p=\(Data(publicKey).base64EncodedString())"
    }

    /// The zone-file line: `SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )`, the
    /// text cut into strings of at most 255 bytes as TXT records require.
    public func zoneLine(selector: String, domain: String) -> String {
        let bytes = Array(text.utf8)
        let chunks = stride(from: 0, to: bytes.count, by: 250).map {
            "\"" + String(decoding: bytes[$0..<min($0 + 250, bytes.count)], as: UTF8.self) + "\""
        }
        return "\(selector)._domainkey.\(domain). IN TXT ( \(chunks.joined(separator: " ")) )"
    }

    /// Reads a published record (the TXT strings already joined). Unknown tags are
    /// ignored as RFC 6376 §3.6.1 says; `k=` defaults to rsa; a record without `p=`,
    /// with a `v=` other than DKIM1, or with `p=` that is not base64 is refused with
    /// the reason.
    public static func parse(_ text: String) -> Result<DKIMKeyRecord, DKIMKeyRecordError> {
        var tags: [String: String] = [:]
        for (position, part) in text.split(separator: ";", omittingEmptySubsequences: false).enumerated() {
            let tag = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if tag.isEmpty { continue }
            guard let equals = tag.firstIndex(of: "=") else { return .failure(.malformed("a tag without \"=\": \(tag.prefix(40))")) }
            let name = tag[..<equals].trimmingCharacters(in: .whitespaces)
            let value = tag[tag.index(after: equals)...].trimmingCharacters(in: .whitespacesAndNewlines)
            if name == "v" && position != 0 { return .failure(.malformed("v= is not the first tag")) }
            if tags[name] != nil { return .failure(.malformed("the tag \(name)= appears twice")) }
            tags[name] = value
        }
        if let version = tags["v"], version != "DKIM1" { return .failure(.malformed("v=\(version.prefix(20)), not DKIM1")) }
        guard let p = tags["p"] else { return .failure(.malformed("no p= tag")) }
        let compact = p.filter { !$0.isWhitespace }
        guard let decoded = Data(base64Encoded: compact) else { return .failure(.malformed("p= is not base64")) }
        return .success(DKIMKeyRecord(keyType: tags["k"] ?? "rsa", publicKey: Array(decoded)))
    }
}

public enum DKIMKeyRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self {
        case .malformed(let why): return "not a DKIM key record: \(why)"
        }
    }
}
