import Foundation
import VigieCrypto

/// One key of the signing key table: the domain (`d=`) and selector (`s=`) it signs
/// as, its algorithm, and the key in the form libopendkim's signing handle takes.
public struct DKIMSigningKey: Sendable, Equatable, CustomStringConvertible {
    public enum Algorithm: String, Sendable, Equatable, CaseIterable {
        case rsaSHA256 = "rsa-sha256"
        case ed25519SHA256 = "ed25519-sha256"
    }

    public let domain: String
    public let selector: String
    public let algorithm: Algorithm
    /// The key's size in bits (RSA) or 256 (Ed25519), for logs and metrics.
    public let bits: Int
    /// The PKCS#8 PEM, NUL-terminated: libopendkim decodes it per message. Not DER:
    /// libopendkim 2.11's DER path (d2i_PrivateKey_bio) refuses Ed25519 keys.
    let encodedKey: [UInt8]

    /// The algorithm follows the key's type; RSA keys under 1024 bits are refused
    /// (RFC 8301: verifiers must not accept them).
    public init(domain: String, selector: String, key: PrivateKey) throws(PrivateKeyError) {
        self.domain = domain
        self.selector = selector
        switch key.kind {
        case .rsa(let bits):
            guard bits >= 1024 else {
                throw .weak("an RSA key of \(bits) bits, under the 1024 that verifiers accept (RFC 8301); 2048 is usual")
            }
            algorithm = .rsaSHA256
            self.bits = bits
        case .ed25519:
            algorithm = .ed25519SHA256
            bits = 256
        }
        encodedKey = try key.pem + [0]
    }

    /// Never the key itself: this is what logs and test failures show.
    public var description: String { "\(algorithm.rawValue) key s=\(selector) d=\(domain) (\(bits) bits)" }

    public static func == (lhs: DKIMSigningKey, rhs: DKIMSigningKey) -> Bool {
        lhs.domain == rhs.domain && lhs.selector == rhs.selector && lhs.encodedKey == rhs.encodedKey
    }
}
