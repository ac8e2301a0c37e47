internal import COpenSSL

/// A private key for signing (DKIM): RSA or Ed25519, read from PEM or generated.
///
/// Holds the decoded key only to describe it (type, size, public half) and to give
/// its bytes in the forms others take: PKCS#8 PEM for libopendkim and the key file,
/// the public half as a DKIM key record wants it.
///
/// Security: the key's bytes live in libssl's object, freed with it; `pem` is a
/// copy the caller must not log.
/// Diagnostics: a file that holds no private key, or one of another type, is a
/// `PrivateKeyError` saying what was found.
public final class PrivateKey: @unchecked Sendable {
    // @unchecked: `handle` is written once in init and only read afterwards
    // (OpenSSL 3 keys may be read from several threads at once).
    private let handle: OpaquePointer

    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case rsa(bits: Int)
        case ed25519

        public var description: String {
            switch self {
            case .rsa(let bits): return "RSA-\(bits)"
            case .ed25519: return "Ed25519"
            }
        }
    }

    public let kind: Kind

    private init(handle: OpaquePointer) throws(PrivateKeyError) {
        self.handle = handle
        switch EVP_PKEY_get_base_id(handle) {
        case EVP_PKEY_RSA: kind = .rsa(bits: Int(EVP_PKEY_get_bits(handle)))
        case EVP_PKEY_ED25519: kind = .ed25519
        default:
            let name = EVP_PKEY_get0_type_name(handle).map { String(cString: $0) } ?? "unknown"
            EVP_PKEY_free(handle)
            throw .unsupportedType(name)
        }
    }

    deinit { EVP_PKEY_free(handle) }

    /// Reads a PEM private key (PKCS#8 "PRIVATE KEY" or the traditional
    /// "RSA PRIVATE KEY"), without a passphrase.
    public convenience init(pem: [UInt8]) throws(PrivateKeyError) {
        guard !pem.isEmpty else { throw .notAPrivateKey("the file is empty") }
        let key: OpaquePointer? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            // A nil callback with a nil argument would prompt on the terminal for an
            // encrypted key; this one refuses it instead. The _ex form, not the plain
            // one: the executable defines PEM_read_bio_PrivateKey for libopendkim's
            // calls (CDKIMKeyCache), and reading a key file is not one of them.
            return PEM_read_bio_PrivateKey_ex(bio, nil, refusePassphrase, nil, nil, nil)
        }
        ERR_clear_error()
        guard let key else {
            let text = String(decoding: pem.prefix(64), as: UTF8.self)
            if text.contains("PUBLIC KEY") { throw .notAPrivateKey("it holds a public key, not a private one") }
            if text.contains("ENCRYPTED") { throw .notAPrivateKey("it is encrypted with a passphrase, which a daemon cannot type") }
            throw .notAPrivateKey("no PEM private key could be read from it")
        }
        try self.init(handle: key)
    }

    /// A new key: RSA of `bits` bits (public exponent 65537) or Ed25519.
    public static func generate(_ kind: Kind) throws(PrivateKeyError) -> PrivateKey {
        let name: String
        switch kind {
        case .rsa(let bits):
            guard (1024...8192).contains(bits) else { throw .weak("RSA keys are generated with 1024 to 8192 bits, not \(bits)") }
            name = "RSA"
        case .ed25519: name = "ED25519"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, name, nil) else { throw .library(CryptoError(call: "EVP_PKEY_CTX_new_from_name(\(name))")) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .library(CryptoError(call: "EVP_PKEY_keygen_init")) }
        if case .rsa(let bits) = kind, EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) != 1 {
            throw .library(CryptoError(call: "EVP_PKEY_CTX_set_rsa_keygen_bits"))
        }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw .library(CryptoError(call: "EVP_PKEY_generate")) }
        return try PrivateKey(handle: key)
    }

    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted: the key file.
    public var pem: [UInt8] {
        get throws(PrivateKeyError) {
            try writing { PEM_write_bio_PrivateKey($0, handle, nil, nil, 0, nil, nil) }
        }
    }

    /// The public half as a DKIM key record's `p=` carries it (RFC 6376 §3.6.1,
    /// RFC 8463 §4): SubjectPublicKeyInfo DER for RSA, the raw 32 bytes for Ed25519.
    public var publicKeyForDNS: [UInt8] {
        get throws(PrivateKeyError) {
            switch kind {
            case .rsa: return try writing { i2d_PUBKEY_bio($0, handle) }
            case .ed25519:
                var length = 0
                guard EVP_PKEY_get_raw_public_key(handle, nil, &length) == 1 else {
                    throw .library(CryptoError(call: "EVP_PKEY_get_raw_public_key"))
                }
                var bytes = [UInt8](repeating: 0, count: length)
                guard EVP_PKEY_get_raw_public_key(handle, &bytes, &length) == 1 else {
                    throw .library(CryptoError(call: "EVP_PKEY_get_raw_public_key"))
                }
                return Array(bytes.prefix(length))
            }
        }
    }

    /// Runs `write` into a memory BIO and returns what it wrote.
    private func writing(_ write: (OpaquePointer) -> Int32) throws(PrivateKeyError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .library(CryptoError(call: "BIO_new")) }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw .library(CryptoError(call: "writing the key")) }
        var data: UnsafeMutablePointer<CChar>? = nil
        // BIO_get_mem_data is a macro over BIO_ctrl.
        let length = withUnsafeMutablePointer(to: &data) { BIO_ctrl(bio, BIO_CTRL_INFO, 0, $0) }
        guard length > 0, let data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }
}

public enum PrivateKeyError: Error, Sendable, CustomStringConvertible, Equatable {
    case notAPrivateKey(String)
    case unsupportedType(String)
    case weak(String)
    case library(CryptoError)

    public var description: String {
        switch self {
        case .notAPrivateKey(let why): return "not a usable private key: \(why)"
        case .unsupportedType(let name): return "a \(name) key, but only RSA and Ed25519 keys sign DKIM"
        case .weak(let why): return why
        case .library(let error): return "\(error)"
        }
    }

    public static func == (lhs: PrivateKeyError, rhs: PrivateKeyError) -> Bool { lhs.description == rhs.description }
}

/// PEM's passphrase callback: no passphrase (returns -1, the read fails).
private let refusePassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in -1 }
