internal import COpenSSL

/// HMAC over libssl (OpenSSL 3's `EVP_MAC` interface), keyed once and used from any
/// thread.
///
/// The key is set up once in a template context; every computation duplicates that
/// context (`EVP_MAC_CTX_dup`), so the key schedule is not redone per call and no
/// context is ever shared between two threads while it is being updated.
///
/// Security: the key bytes live inside libssl's context, which `EVP_MAC_CTX_free`
/// clears. Compare authentication codes with `ConstantTime.equals`, never `==`.
/// Diagnostics: libssl failures (an algorithm missing from the provider, a broken
/// install) are `CryptoError` values naming the C call that failed.
/// Known limitations: only SHA-1 and SHA-256 digests are offered: SRS needs SHA-1.
public final class HMACKey: @unchecked Sendable {
    // @unchecked: `template` is written once in init and only read (duplicated) after;
    // EVP_MAC_CTX_dup reads its source without modifying it.
    private let template: MACContext
    /// The digest length in bytes (20 for SHA-1).
    public let outputLength: Int

    public enum Digest: String, Sendable {
        case sha1 = "SHA1"
        case sha256 = "SHA256"
    }

    /// Keys an HMAC with `key` (any length; HMAC hashes keys longer than a block).
    public init(key: [UInt8], digest: Digest = .sha1) throws(CryptoError) {
        let algorithm = try MACAlgorithm.hmac()
        let context = try MACContext(algorithm: algorithm)
        let ok = digest.rawValue.withCString { name -> Int32 in
            var parameters: [OSSL_PARAM] = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: name), 0),
                OSSL_PARAM_construct_end(),
            ]
            return key.withUnsafeBufferPointer { keyBytes in
                // A zero-length key still needs a valid pointer.
                var empty: UInt8 = 0
                return withUnsafePointer(to: &empty) { emptyPointer in
                    EVP_MAC_init(context.handle, keyBytes.baseAddress ?? emptyPointer, keyBytes.count, &parameters)
                }
            }
        }
        guard ok == 1 else { throw CryptoError(call: "EVP_MAC_init(HMAC-\(digest.rawValue))") }
        template = context
        outputLength = Int(EVP_MAC_CTX_get_mac_size(context.handle))
    }

    /// The HMAC of the concatenation of `parts`.
    public func authenticationCode(over parts: [[UInt8]]) throws(CryptoError) -> [UInt8] {
        let context = try template.duplicate()
        for part in parts where !part.isEmpty {
            let ok = part.withUnsafeBufferPointer { EVP_MAC_update(context.handle, $0.baseAddress, $0.count) }
            guard ok == 1 else { throw CryptoError(call: "EVP_MAC_update") }
        }
        var output = [UInt8](repeating: 0, count: max(outputLength, 64))
        var written = 0
        let ok = output.withUnsafeMutableBufferPointer {
            EVP_MAC_final(context.handle, $0.baseAddress, &written, $0.count)
        }
        guard ok == 1 else { throw CryptoError(call: "EVP_MAC_final") }
        return Array(output.prefix(written))
    }

    /// The HMAC of `message`.
    public func authenticationCode(for message: [UInt8]) throws(CryptoError) -> [UInt8] {
        try authenticationCode(over: [message])
    }
}

/// Owns an `EVP_MAC` (the fetched algorithm). The corresponding C function is
/// `EVP_MAC_fetch`; freed with `EVP_MAC_free`.
final class MACAlgorithm {
    let handle: OpaquePointer

    private init(handle: OpaquePointer) { self.handle = handle }

    static func hmac() throws(CryptoError) -> MACAlgorithm {
        guard let handle = EVP_MAC_fetch(nil, "HMAC", nil) else { throw CryptoError(call: "EVP_MAC_fetch(HMAC)") }
        return MACAlgorithm(handle: handle)
    }

    deinit { EVP_MAC_free(handle) }
}

/// Owns an `EVP_MAC_CTX`; freed (and its key cleared) with `EVP_MAC_CTX_free`.
final class MACContext {
    let handle: OpaquePointer
    /// Keeps the algorithm alive as long as a context made from it.
    private let algorithm: MACAlgorithm

    init(algorithm: MACAlgorithm) throws(CryptoError) {
        guard let handle = EVP_MAC_CTX_new(algorithm.handle) else { throw CryptoError(call: "EVP_MAC_CTX_new") }
        self.handle = handle
        self.algorithm = algorithm
    }

    private init(handle: OpaquePointer, algorithm: MACAlgorithm) {
        self.handle = handle
        self.algorithm = algorithm
    }

    /// A copy with the same key and state. The corresponding C function is `EVP_MAC_CTX_dup`.
    func duplicate() throws(CryptoError) -> MACContext {
        guard let copy = EVP_MAC_CTX_dup(handle) else { throw CryptoError(call: "EVP_MAC_CTX_dup") }
        return MACContext(handle: copy, algorithm: algorithm)
    }

    deinit { EVP_MAC_CTX_free(handle) }
}
